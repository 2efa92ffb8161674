import { env, exports } from "cloudflare:workers";
import { getConfig } from "../src/config/index.ts";
import { createDb } from "../src/db/client.ts";
import type { DbHandle } from "../src/db/client.ts";

/** Calls the Worker's fetch handler exactly as the runtime would. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://edge.test${path}`, init));
}

/** A Postgres handle from inside workerd, through the same driver and relay the Worker uses. */
export function testDb(): DbHandle {
  return createDb(getConfig(env));
}

export async function control(path: string): Promise<void> {
  const res = await fetch(`${env.TEST_CONTROL_URL}${path}`, { method: "POST" });
  if (!res.ok) throw new Error(`control ${path}: ${res.status}`);
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
