// Shared by the browser tests of the page: the API as the tests call it directly, Postgres as it
// stored things, and polling.
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Locator } from "playwright-core";
import { inject } from "vitest";
import type { Subscriber, SubscriberStatus } from "../../src/subscribers/schema.ts";

const baseUrl = inject("baseUrl");
const adminKey = inject("adminKey");
const databaseUrl = inject("databaseUrl");

export const ARTIFACTS = "test-results/browser";
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminKey}`, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : null,
  });
  // A 204 (a delete or an erasure under Prefer: wait) has no body.
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits for `text` inside the locator; a timeout says what it held instead. */
export async function waitForText(where: Locator, text: string, opts: { exact?: boolean } = {}): Promise<void> {
  try {
    await where.getByText(text, opts).waitFor();
  } catch (e) {
    throw new Error(`never said ${JSON.stringify(text)}; it says ${JSON.stringify(await where.textContent())}`, { cause: e });
  }
}

/** Answer the final result instead of 202 (RFC 7240): seeds are stored before the test goes on. */
export const WAIT = { Prefer: "wait=10" };

export async function createSubscriber(status: SubscriberStatus = "active"): Promise<Subscriber> {
  const email = `life.${randomUUID().slice(0, 8)}@example.com`;
  const res = await api<{ data: Subscriber }>("POST", "/v1/subscribers", { email, name: "Ada", last_name: "Lovelace", status }, WAIT);
  if (res.status !== 201) throw new Error(`creating a subscriber answered ${res.status}`);
  return res.body.data;
}

/** The subscriber's row in Postgres itself, past every cache; undefined once deleted or erased. */
export async function storedRow(id: string): Promise<Record<string, unknown> | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query("select name, last_name, status, version, unsubscribed_at from subscribers where id = $1", [id]);
    return rows[0];
  } finally {
    await client.end();
  }
}
