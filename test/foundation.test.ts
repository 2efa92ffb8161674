import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { apiKeys, deadLetters } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import { call, databaseDown, testDb, waitFor } from "./helpers.ts";

const db = testDb();
afterAll(() => db.close());

describe("health and readiness", () => {
  it("GET /health answers 200 and echoes a well-formed X-Request-Id", async () => {
    const res = await call("/health", { headers: { "X-Request-Id": "req-abc.123" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toBe("req-abc.123");
  });

  it("replaces a malformed X-Request-Id with a fresh one", async () => {
    const res = await call("/health", { headers: { "X-Request-Id": "bad id with spaces" } });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("GET /ready is 200 and names every check when Postgres, cache and queue work", async () => {
    const res = await call("/ready");
    const body = await res.json<{ status: string; checks: Record<string, { ok: boolean }> }>();
    expect(res.status).toBe(200);
    expect(body.status).toBe("ready");
    expect(Object.keys(body.checks).sort()).toEqual(["cache", "plan_sync", "postgres", "provider_breaker", "queue"]);
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
  });

  it("GET /ready is 503 with Retry-After when Postgres is unreachable", async () => {
    const { res, body } = await databaseDown(async () => {
      const res = await call("/ready");
      return { res, body: await res.json<{ status: string; checks: Record<string, { ok: boolean; error?: string }> }>() };
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(body.status).toBe("not_ready");
    expect(body.checks.postgres?.ok).toBe(false);
    expect(body.checks.postgres?.error).toBeTruthy();
    expect(body.checks.cache?.ok).toBe(true);
    // And it recovers once the database is back.
    expect((await call("/ready")).status).toBe(200);
  });

  it("unknown routes are a 404 problem+json with the request id", async () => {
    const res = await call("/no/such/route");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ type: "/problems/not_found", status: 404, instance: "/no/such/route" });
    expect(body.request_id).toBe(res.headers.get("x-request-id"));
  });
});

describe("Postgres from inside workerd", () => {
  it("writes and reads back a row through the Neon driver and drizzle", async () => {
    const id = crypto.randomUUID();
    await db.db.insert(apiKeys).values({ id, name: "round-trip", prefix: "sk_test", keyHash: `hash-${id}`, scopes: ["plans:read"] });
    const [row] = await db.db.select().from(apiKeys).where(eq(apiKeys.id, id));
    expect(row).toMatchObject({ id, name: "round-trip", scopes: ["plans:read"], revokedAt: null });
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it("runs migrations: every table of the schema exists", async () => {
    const result = await db.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    expect(result.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(["api_keys", "dead_letters"]));
  });
});

describe("queues", () => {
  it("a message sent to the dead-letter queue reaches its consumer and is stored in Postgres", async () => {
    const marker = crypto.randomUUID();
    await env.DEAD_LETTER_QUEUE.send({ kind: "dead_letter", reason: "poison: test", message_id: marker, attempts: 1, body: { marker } });
    const row = await waitFor(
      async () => {
        const [r] = await db.db.select().from(deadLetters).where(eq(deadLetters.messageId, marker));
        return r;
      },
      15_000,
      "the dead letter row",
    );
    expect(row).toMatchObject({
      queue: "subscriber-writes-dlq",
      reason: "poison: test",
      attempts: 1,
      body: JSON.stringify({ marker }),
      bodyFormat: "json",
    });
  });
});

describe("scheduled handler", () => {
  it("dispatches the maintenance schedule, which purges dead letters replayed over a week ago", async () => {
    const old = crypto.randomUUID();
    const recent = crypto.randomUUID();
    const now = Date.parse("2030-01-10T00:17:00Z");
    await db.db.insert(deadLetters).values([
      { queue: "q", messageId: old, body: "{}", reason: "r", attempts: 1, replayedAt: new Date(now - 8 * 86_400_000) },
      { queue: "q", messageId: recent, body: "{}", reason: "r", attempts: 1, replayedAt: new Date(now - 1 * 86_400_000) },
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *", scheduledTime: now }), env, ctx);
    await waitOnExecutionContext(ctx);
    const left = await db.db
      .select({ id: deadLetters.messageId })
      .from(deadLetters)
      .where(sql`${deadLetters.messageId} in (${old}, ${recent})`);
    expect(left.map((r) => r.id)).toEqual([recent]);
  });

  it("fails loudly on a cron expression it has no task for", async () => {
    const ctx = createExecutionContext();
    await expect(worker.scheduled(createScheduledController({ cron: "5 4 * * sun" }), env, ctx)).rejects.toThrow(/no task/);
  });
});
