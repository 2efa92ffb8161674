// The same-I/O harness: a Worker that makes exactly the KV, Queue, Durable Object and SQL calls our
// paths make, through the project's own I/O layer (src/runtime.ts → src/db/client.ts, src/cache/*,
// src/ratelimit/*, src/db/repositories/*), and nothing else: no Hono, no zod, no auth or lifecycle
// logic, no validation. Built by scripts/lib/bench/stack.ts exactly as the app is (wrangler deploy
// --dry-run) and run with the app's bindings, so the ratio of a path to its harness row is what our
// own code costs on top of that I/O in this runtime. docs/benchmarks.md ("Same-I/O harness") traces
// each path. When the I/O layer changes (a reader factory, another store), the harness follows.
import { apiKeyCacheKey } from "../../../../src/auth/api-keys.ts";
import { readThrough, safeGet } from "../../../../src/cache/read-through.ts";
import { findActiveApiKeyByHash } from "../../../../src/db/repositories/api-keys.ts";
import { findDecidedOperations, recordOperationOutcomes } from "../../../../src/db/repositories/operations.ts";
import { findTombstones, insertSubscriberEvents } from "../../../../src/db/repositories/subscriber-history.ts";
import {
  findExistingEmails,
  findSubscriberById,
  findSubscribersByIds,
  insertSubscribers,
} from "../../../../src/db/repositories/subscribers.ts";
import { sha256Hex } from "../../../../src/lib/crypto.ts";
import type { Runtime } from "../../../../src/runtime.ts";
import { createRuntime } from "../../../../src/runtime.ts";
import { cacheKeys, subscriberCaching, toSubscriberView } from "../../../../src/subscribers/model.ts";
import { relayWebhookEvents } from "../../../../src/webhooks/relay.ts";

// wrangler.toml binds the rate limiter's class; the harness takes its tokens from the same objects.
export { RateLimiterObject } from "../../../../src/ratelimit/durable-object.ts";

type CreateBody = {
  type: "subscriber.create";
  operation_id: string;
  subscriber: { id: string; email: string; name: string; last_name: string; status: "active" };
};
type SettleBody = { type: "subscriber.settle"; subscribers: Array<{ id: string; email_key?: string }> };

/** The key's digest, as authenticate memoises it per isolate. */
const keyHashes = new Map<string, string>();

/**
 * An API-keyed request's I/O before its handler: the key's lookup (isolate memory for 10 s, then
 * KV, Postgres only on first use) and one token of its limit (the Durable Object, once per lease).
 */
async function keyIo(rt: Runtime, req: Request): Promise<boolean> {
  const key = req.headers.get("authorization")?.slice(7) ?? "";
  let hash = keyHashes.get(key);
  if (!hash) {
    hash = await sha256Hex(key);
    keyHashes.set(key, hash);
  }
  const keyHash = hash;
  const { value } = await readThrough(
    rt,
    apiKeyCacheKey(keyHash),
    async () => {
      const row = await findActiveApiKeyByHash(rt.reader(), keyHash);
      if (!row) return undefined;
      const rateLimit = row.rateLimit && row.ratePeriodSeconds ? { limit: row.rateLimit, periodSeconds: row.ratePeriodSeconds } : null;
      return { keyId: row.id, name: row.name, keyHash: row.keyHash, scopes: row.scopes, rateLimit };
    },
    {
      hitSeconds: rt.config.edgeCopies.apiKeyFresh,
      staleSeconds: rt.config.edgeCopies.apiKeyStale,
      missingSeconds: 0,
      hotSeconds: rt.config.edgeCopies.apiKeyHot,
    },
  );
  if (!value) return false;
  await rt.limiter.take(`key:${value.keyId}`, value.rateLimit ?? rt.config.defaultKeyRateLimit);
  return true;
}

/** GET /v1/subscribers/{id}'s read: isolate memory, KV get, on a miss the query (Neon's HTTP reader) and the KV put (finished in waitUntil). */
async function read(rt: Runtime, id: string): Promise<Response> {
  const { value, cache } = await readThrough(
    rt,
    cacheKeys.byId(id),
    async () => {
      const row = await findSubscriberById(rt.reader(), id);
      return row ? toSubscriberView(row) : undefined;
    },
    subscriberCaching(rt.config).read,
  );
  return new Response(JSON.stringify({ data: value ?? null, meta: {} }), {
    status: value ? 200 : 404,
    headers: { "content-type": "application/json", "server-timing": `cache;desc="${cache}"` },
  });
}

/** POST /v1/subscribers' I/O: the KV get of the address's entry (the edge's 409) and the queue send (no KV write: src/subscribers/accept.ts). */
async function accept(rt: Runtime, env: Env, req: Request): Promise<Response> {
  const input = JSON.parse(await req.text()) as CreateBody["subscriber"];
  await safeGet(rt, await cacheKeys.byEmail(input.email));
  const message = {
    type: "subscriber.create" as const,
    v: 1 as const,
    operation_id: crypto.randomUUID(),
    requested_at: new Date().toISOString(),
    subscriber: { id: crypto.randomUUID(), email: input.email, name: input.name, last_name: input.last_name, status: input.status },
  };
  await env.SUBSCRIBER_QUEUE.send(message, { contentType: "json" });
  const operation = {
    id: message.operation_id,
    kind: message.type,
    status: "pending",
    subscriber_id: message.subscriber.id,
    subscriber_version: null,
    error: null,
    completed_at: null,
  };
  return new Response(JSON.stringify({ data: operation, meta: {} }), { status: 202, headers: { "content-type": "application/json" } });
}

/**
 * A batch of creates, as the consumer stores it: one transaction with the same statements (decided
 * operations, tombstones, existing emails, the multi-row INSERT, events, outcomes), then after the
 * acks the webhook relay (creates touch no cache key and send no settle message).
 */
async function storeCreates(rt: Runtime, creates: CreateBody[]): Promise<Promise<unknown>[]> {
  const hashes = creates.map(() => crypto.randomUUID().replaceAll("-", "").repeat(2));
  await rt.db().transaction(async (tx) => {
    await findDecidedOperations(
      tx,
      creates.map((m) => m.operation_id),
    );
    await findTombstones(
      tx,
      creates.map((m) => m.subscriber.id),
      hashes,
    );
    await findExistingEmails(
      tx,
      creates.map((m) => m.subscriber.email.toLowerCase()),
    );
    const rows = await insertSubscribers(
      tx,
      creates.map(({ subscriber: s, operation_id: op }) => ({
        id: s.id,
        email: s.email,
        name: s.name,
        lastName: s.last_name,
        status: s.status,
        unsubscribedAt: null,
        fieldOps: { name: op, last_name: op, status: op },
      })),
    );
    const opOf = new Map(creates.map((m) => [m.subscriber.id, m.operation_id]));
    await insertSubscriberEvents(
      tx,
      rows.map((row) => ({
        subscriberId: row.id,
        type: "subscriber.created" as const,
        version: row.version,
        operationId: opOf.get(row.id)!,
        data: toSubscriberView(row),
      })),
    );
    await recordOperationOutcomes(
      tx,
      rows.map((row) => ({
        id: opOf.get(row.id)!,
        kind: "subscriber.create",
        status: "succeeded" as const,
        subscriberId: row.id,
        errorCode: null,
        version: row.version,
        idempotencyKey: null,
      })),
    );
    return rows;
  });
  // Creates need no cache pass (no absence is cached, src/subscribers/cache-settle.ts): the relay only.
  return [relayWebhookEvents(rt)];
}

/** The settle pass's I/O: the rows by id, then each subscriber's two entries read, 16 subscribers at a time (they match: no writes). */
async function settle(rt: Runtime, settles: SettleBody[]): Promise<void> {
  const unique = [...new Map(settles.flatMap((s) => s.subscribers).map((s) => [s.id, s])).values()];
  await findSubscribersByIds(
    rt.db(),
    unique.map((s) => s.id),
  );
  for (let i = 0; i < unique.length; i += 16) {
    await Promise.all(
      unique.slice(i, i + 16).flatMap((s) => [cacheKeys.byId(s.id), ...(s.email_key ? [s.email_key] : [])].map((k) => safeGet(rt, k))),
    );
  }
}

export default {
  async fetch(req, env, ctx) {
    // As the request context builds it: a miss's cache fill finishes in waitUntil.
    const rt = createRuntime(env, {}, (work) => ctx.waitUntil(work));
    try {
      const url = new URL(req.url);
      if (url.pathname === "/") return new Response("ok");
      if (!(await keyIo(rt, req))) return new Response("unknown key", { status: 401 });
      if (req.method === "GET" && url.pathname.startsWith("/v1/subscribers/")) return await read(rt, url.pathname.slice(16));
      if (req.method === "POST" && url.pathname === "/v1/subscribers") return await accept(rt, env, req);
      return new Response("not found", { status: 404 });
    } finally {
      if (rt.dbUsed) ctx.waitUntil(rt.dispose());
    }
  },
  async queue(batch, env, ctx) {
    const rt = createRuntime(env);
    const bodies = batch.messages.map((m) => m.body as CreateBody | SettleBody);
    const settles = bodies.filter((b): b is SettleBody => b.type === "subscriber.settle");
    const creates = bodies.filter((b): b is CreateBody => b.type === "subscriber.create");
    const deferred: Promise<unknown>[] = [];
    try {
      if (settles.length) await settle(rt, settles);
      if (creates.length) deferred.push(...(await storeCreates(rt, creates)));
      batch.ackAll();
    } finally {
      ctx.waitUntil(Promise.allSettled(deferred).finally(() => rt.dispose()));
    }
  },
} satisfies ExportedHandler<Env>;
