import type { Context } from "hono";
import type { CacheOutcome } from "../cache/read-through.ts";
import { parseEntityTags, weakMatch } from "../lib/entity-tags.ts";
import { errorMessage } from "../lib/log.ts";
import { count } from "../lib/meter.ts";
import type { AppEnv, CacheLevel } from "./context.ts";

/**
 * Plans sync every minute (wrangler.toml [triggers] "* * * * *"), so a plan answer changes at most
 * once a minute. Fresh for half of that: a client or shared cache is at most about one sync behind
 * the edge. Then, for one more interval, a cache may hand out its copy once more while it
 * revalidates in the background with If-None-Match, which usually costs a body-less 304.
 */
const SYNC_INTERVAL_SECONDS = 60;
const PLANS_CACHE_CONTROL = `public, max-age=${SYNC_INTERVAL_SECONDS / 2}, stale-while-revalidate=${SYNC_INTERVAL_SECONDS}`;

/**
 * How long the Cache API keeps a copy. Its key carries the index generation, so a copy never goes
 * stale under its key (a sync that changes anything publishes a new generation, hence new keys, and
 * nothing needs purging); this only bounds how long a generation nobody asks for occupies space.
 */
const EDGE_TTL_SECONDS = 3_600;

const JSON_UTF8 = "application/json; charset=utf-8";

/**
 * Browsers' requests (with `Origin`) get CORS headers that others do not, so a shared cache must key
 * these public answers on Origin whatever the request had, and the 304 names the same Vary as the 200
 * (RFC 9110 §15.4.5: a 304 carries the headers the 200 would have).
 */
const VARY = "Origin";

/** Adds `name` to Vary once: the CORS middleware appends Origin to answers that may already name it. */
export function varyOn(headers: Headers, name: string): void {
  const current = headers.get("Vary");
  if (!current) headers.set("Vary", name);
  else if (!current.split(",").some((v) => v.trim().toLowerCase() === name.toLowerCase())) headers.set("Vary", `${current}, ${name}`);
}

/** Leaves each member of Vary once. */
export function dedupeVary(headers: Headers): void {
  const current = headers.get("Vary");
  if (!current?.includes(",")) return;
  const members = [...new Set(current.split(",").map((v) => v.trim()))];
  headers.set("Vary", members.join(", "));
}

/**
 * A Cache API key for one answer of one generation. The request's own origin keeps it inside the
 * zone; the path cannot collide with a route (none starts with "/__edge").
 */
export function edgeKey(requestUrl: string, generation: string, answer: string): string {
  return `${new URL(requestUrl).origin}/__edge/${encodeURIComponent(generation)}${answer}`;
}

/** A copy the Cache API (caches.default) holds, or null: a failing cache is a miss, never an error. */
export async function fromEdge(c: Context<AppEnv>, key: string): Promise<{ body: ReadableStream<Uint8Array>; etag: string } | null> {
  try {
    count("cache_matches");
    const hit = await caches.default.match(key);
    const etag = hit?.headers.get("ETag");
    if (!hit?.body || !etag) {
      await hit?.body?.cancel();
      return null;
    }
    return { body: hit.body, etag };
  } catch (err) {
    c.get("rt").log.warn("edge_cache_error", { op: "match", error: errorMessage(err) });
    return null;
  }
}

type Body = Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;

/**
 * Stores a 200 answer in the Cache API after the response is sent (waitUntil), and returns the body
 * to send: a stream is split in two, one branch for the client and one for the cache.
 */
export function toEdge(c: Context<AppEnv>, key: string, etag: string, body: Body): Body {
  let stored: Body = body;
  let sent: Body = body;
  if (body instanceof ReadableStream) [sent, stored] = body.tee();
  const copy = new Response(stored, {
    headers: { "Content-Type": JSON_UTF8, ETag: etag, "Cache-Control": `public, max-age=${EDGE_TTL_SECONDS}` },
  });
  count("cache_puts");
  const put = caches.default.put(key, copy).catch((err: unknown) => {
    c.get("rt").log.warn("edge_cache_error", { op: "put", error: errorMessage(err) });
  });
  try {
    c.executionCtx.waitUntil(put);
  } catch {
    // app.request() without an execution context: the put runs on its own.
  }
  return sent;
}

/**
 * RFC 9110 §13.1.2: If-None-Match holds when it is "*" or lists an entity-tag equal to `etag` under
 * weak comparison (a W/ prefix on either side is ignored); a header that is not a list of
 * entity-tags (src/lib/entity-tags.ts) matches nothing.
 */
export function ifNoneMatchHolds(header: string | undefined, etag: string): boolean {
  const list = header === undefined ? undefined : parseEntityTags(header);
  if (!list) return false;
  return list.any || list.tags.some((t) => weakMatch(t, etag));
}

/**
 * The answer to a cacheable read: a 304 with no body when If-None-Match holds, else the 200, both
 * with the validator and the caching policy; the level that answered is recorded for the request's
 * log line. Checked here rather than by hono/etag, which would wrap every request in one more
 * middleware and set the ETag a second time on the hot path, to make the same comparison.
 * Only for routes that need no API key: the answer is `public` and its Cache API key names no key,
 * so a keyed route's answer would be shared across keys (those stay `no-store`, src/http/middleware/auth.ts).
 */
export function cacheableAnswer(
  c: Context<AppEnv>,
  answer: { etag: string; body: Body; level: CacheLevel; outcome?: CacheOutcome },
): Response {
  c.set("cacheOutcome", answer.outcome ?? (answer.level === "database" ? "miss" : "hit"));
  c.set("cacheLevel", answer.level);
  if (ifNoneMatchHolds(c.req.header("if-none-match"), answer.etag)) {
    // The Cache API's stream is not read: let it go.
    if (answer.body instanceof ReadableStream) void answer.body.cancel();
    return c.body(null, 304, { ETag: answer.etag, "Cache-Control": PLANS_CACHE_CONTROL, Vary: VARY });
  }
  return c.body(answer.body, 200, { "Content-Type": JSON_UTF8, ETag: answer.etag, "Cache-Control": PLANS_CACHE_CONTROL, Vary: VARY });
}
