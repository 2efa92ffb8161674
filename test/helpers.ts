import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { generateApiKey, storedFormOf } from "../src/auth/keys.ts";
import type { Scope } from "../src/auth/principal.ts";
import { getConfig } from "../src/config/index.ts";
import type { DbHandle } from "../src/db/client.ts";
import { createDb } from "../src/db/client.ts";
import { apiKeys } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import type { ProblemBody } from "../src/http/problems.ts";
import type { ListBody } from "../src/lib/pagination.ts";
import type { Operation, Subscriber } from "../src/subscribers/schema.ts";

/** Calls the Worker's fetch handler exactly as the runtime would. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://edge.test${path}`, init));
}

/** The app with some configuration overridden: config is parsed per env object. */
export function appWith(overrides: Record<string, unknown>) {
  const app = createApp();
  const e = { ...env, ...overrides } as Env;
  return (path: string, init?: RequestInit) => app.fetch(new Request(`http://edge.test${path}`, init), e, createExecutionContext());
}

/**
 * Response bodies, typed by the app's own schemas (never restated here): an RFC 9457 problem for
 * every non-2xx, `{ data, meta }` for one resource, a ListBody for pages.
 */
export type Problem = ProblemBody;
export type Envelope<T> = { data: T; meta: Record<string, unknown> };
export type OperationBody = Envelope<Operation>;
export type SubscriberBody = Envelope<Subscriber>;
export type { ListBody };

/** Asserts a well-formed problem of this status and type, and returns its body. */
export async function expectProblem(res: Response, status: number, type: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = await res.json<Problem>();
  expect(body).toMatchObject({ type: `/problems/${type}`, status });
  expect(body.instance).toMatch(/^\//);
  expect(body.title).toBeTruthy();
  expect(body.detail).toBeTruthy();
  expect(body.request_id).toBe(res.headers.get("x-request-id"));
  return body;
}

/** A Postgres pool from inside workerd, through the same driver and relay the Worker uses (WebSocket). */
export function testDb(): DbHandle {
  return createDb(getConfig(env));
}

export async function control(path: string): Promise<void> {
  const res = await fetch(`${env.TEST_CONTROL_URL}${path}`, { method: "POST" });
  if (!res.ok) throw new Error(`control ${path}: ${res.status}`);
}

/** Database round trips through the relay since the suite started, by the way they went. */
export async function relayCounts(): Promise<{ connections: number; httpQueries: number }> {
  const res = await fetch(`${env.TEST_CONTROL_URL}/relay/counts`, { method: "POST" });
  return res.json();
}

/**
 * Database round trips since the suite started: a WebSocket connection (a pool, opened once per
 * invocation that needs a session) or an HTTP query (one statement). Bounds "how often Postgres was asked".
 */
export async function databaseRoundTrips(): Promise<number> {
  const c = await relayCounts();
  return c.connections + c.httpQueries;
}

export async function databaseDown<T>(fn: () => Promise<T>): Promise<T> {
  await control("/relay/down");
  try {
    return await fn();
  } finally {
    await control("/relay/up");
  }
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates an API key row directly (as `npm run keys:create` would) and returns the key. */
export async function createTestKey(db: DbHandle, scopes: Scope[], name = "test"): Promise<string> {
  const key = generateApiKey("test");
  await db.db.insert(apiKeys).values({ id: crypto.randomUUID(), name, ...(await storedFormOf(key)), scopes });
  return key;
}

export const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** A unique email domain per test, so tests sharing one database never see each other's rows. */
export const uniqueDomain = () => `t${crypto.randomUUID().slice(0, 8)}.example.com`;

/** Makes the provider stand-in serve these documents, in rotation, from its next call. */
export async function setProviderDocuments(docs: string[]): Promise<void> {
  const res = await fetch(`${env.TEST_CONTROL_URL}/provider/documents`, { method: "POST", body: JSON.stringify(docs) });
  if (!res.ok) throw new Error(`provider documents: ${res.status}`);
}

export const providerFault = (mode: string) => control(`/provider/fault?mode=${encodeURIComponent(mode)}`);

/** Every console line the Worker writes during each test of the file (fresh per test), for searching them. */
/** The captured lines that are JSON log records (src/lib/log.ts), in order; anything else is skipped. */
export function logRecords(lines: readonly string[]): Record<string, unknown>[] {
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

export function captureLogLines(): string[] {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
  });
  afterEach(() => vi.restoreAllMocks());
  return lines;
}
