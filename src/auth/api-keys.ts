import { hotCache } from "../cache/hot.ts";
import { readThrough } from "../cache/read-through.ts";
import { isDatabaseDown } from "../db/errors.ts";
import { findActiveApiKeyByHash } from "../db/repositories/api-keys.ts";
import { sha256Hex, timingSafeEqualStr } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import { inIsolateMemory } from "../lib/isolate-memory.ts";
import type { Runtime } from "../runtime.ts";
import type { Principal, Scope } from "./principal.ts";
import { SCOPES } from "./principal.ts";
import { revocationStanding } from "./revocations.ts";
import { isSignedForm, verifySignedKey } from "./signed-keys.ts";

/**
 * Two kinds of keys. A signed key (src/auth/signed-keys.ts, every key minted since) carries its id,
 * scopes and rate limit under an HMAC: it is verified with no storage at all, then checked against
 * the revocation list (src/auth/revocations.ts). A key without a signature (minted before), or a
 * signed key older than the list covers, is looked up by its SHA-256 as below.
 *
 * A key lookup is cached at the edge as a copy that outlives Postgres (config `edgeCopies`): fresh
 * for API_KEY_CACHE_SECONDS, then re-checked in Postgres on its next use, and served stale only while
 * Postgres cannot answer, for up to API_KEY_STALE_SECONDS more; each isolate also remembers it for
 * API_KEY_HOT_SECONDS. Revocation deletes the copy at once (src/auth/key-admin.ts); docs/api.md
 * "Authentication and API keys" states the bound this gives.
 */
/** Where a key's lookup is cached; revocation deletes it there. */
export const apiKeyCacheKey = (keyHash: string) => `apikey:v1:${keyHash}`;

interface CachedKey extends Principal {
  keyHash: string;
}

/**
 * Concurrent first uses of one key in an isolate share one database lookup: a burst of 64 requests
 * with a key not yet cached otherwise opened 64 connections at once (seen as 18 s stalls and 503s
 * under load). The others wait for its result by polling plain data, never by awaiting the first
 * request's promise: in workerd the code after an `await` runs in the context of the request whose
 * I/O settled it, so a waiter would build its response inside the first request (500s, "Cannot
 * perform I/O on behalf of a different request"). A waiter whose shared lookup fails, or takes too
 * long, does its own.
 */
interface ApiKeyLookup {
  done: boolean;
  ok: boolean;
  value: CachedKey | undefined;
}
/** API key lookups in flight, as plain data other requests poll. */
const inflight = inIsolateMemory(new Map<string, ApiKeyLookup>(), (m) => m.clear());
const SHARED_LOOKUP_WAIT_MS = 2_000;
const SHARED_LOOKUP_POLL_MS = 5;

async function sharedLookup(keyHash: string, own: () => Promise<CachedKey | undefined>): Promise<CachedKey | undefined> {
  const pending = inflight.get(keyHash);
  if (pending) {
    const deadline = Date.now() + SHARED_LOOKUP_WAIT_MS;
    while (!pending.done && Date.now() < deadline) await new Promise((r) => setTimeout(r, SHARED_LOOKUP_POLL_MS));
    if (pending.done && pending.ok) return pending.value;
    return own();
  }
  const mine: ApiKeyLookup = { done: false, ok: false, value: undefined };
  inflight.set(keyHash, mine);
  try {
    mine.value = await own();
    mine.ok = true;
    return mine.value;
  } finally {
    mine.done = true;
    inflight.delete(keyHash);
  }
}

/**
 * key → SHA-256, the one digest every authenticated request would otherwise compute (a visible
 * share of a cache hit, docs/benchmarks.md). A pure function of the key, so it never outlives a
 * revocation: that is decided by the lookup below. Its own small LRU, so raw keys are not kept long.
 */
const keyHashes = inIsolateMemory(hotCache(1_000), (c) => c.clear());
const KEY_HASH_SECONDS = 10;

async function hashOfKey(key: string): Promise<string> {
  const known = keyHashes.get<string>(key);
  if (known) return known;
  const hash = await sha256Hex(key);
  keyHashes.set(key, hash, KEY_HASH_SECONDS);
  return hash;
}

/**
 * Signed keys this isolate verified lately, with what they say: a pure function of the key and the
 * secret, so it never outlives a revocation (the list decides that, on every request). Only keys
 * that verified are kept, so forged ones cannot fill it.
 */
const verifiedKeys = inIsolateMemory(hotCache(1_000), (c) => c.clear());

async function verifiedKey(secret: string, key: string): Promise<Principal | undefined> {
  const known = verifiedKeys.get<Principal>(key);
  if (known) return known;
  const principal = await verifySignedKey(secret, key);
  if (principal) verifiedKeys.set(key, principal, KEY_HASH_SECONDS);
  return principal;
}

/**
 * Key hashes that matched no active key, remembered in isolate memory for a minute: repeating an
 * unknown (or revoked) key costs neither a KV read nor a query. Memory only, never KV, so random keys
 * cannot turn into writes; bounded, so a flood of them only evicts older entries.
 */
const unknownKeys = inIsolateMemory(hotCache(10_000), (c) => c.clear());
const UNKNOWN_KEY_SECONDS = 60;

const CACHED_ONLY = new Error("cached lookups only");
/** A stale copy answers when Postgres has not within this: a hung database is an outage too. */
const STALE_WAIT_MS = 1_000;

function invalidKey(): DomainError {
  return new DomainError("invalid_credentials", "The API key is not valid.");
}

async function findKey(rt: Runtime, keyHash: string): Promise<CachedKey | undefined> {
  const row = await findActiveApiKeyByHash(rt.reader(), keyHash);
  if (!row) return undefined;
  return {
    keyId: row.id,
    keyHash: row.keyHash,
    scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    rateLimit: row.rateLimit && row.ratePeriodSeconds ? { limit: row.rateLimit, periodSeconds: row.ratePeriodSeconds } : null,
  };
}

export interface AuthenticateOptions {
  /**
   * Called before a key unknown to memory and the edge cache is looked up in Postgres; it may throw
   * to refuse (the per-IP limit of lookups, src/http/middleware/rate-limit.ts).
   */
  beforeDatabaseLookup?: () => Promise<void>;
  /**
   * Answer from memory and the edge cache alone, never from Postgres: for a client address over its
   * limit, whose known keys keep working while anything else fails without reaching the database.
   */
  cachedOnly?: boolean;
}

export async function authenticate(rt: Runtime, authorization: string | undefined, opts: AuthenticateOptions = {}): Promise<Principal> {
  const match = authorization?.match(/^Bearer\s+(\S{16,256})$/i);
  if (!match?.[1]) {
    throw new DomainError("missing_credentials", "Send an API key as `Authorization: Bearer <key>`.");
  }
  if (isSignedForm(match[1])) {
    const signed = await verifiedKey(rt.config.apiKeySigningSecret, match[1]);
    if (!signed) throw invalidKey();
    const standing = await revocationStanding(rt, signed.keyId);
    if (standing === "valid") return signed;
    if (standing === "revoked") throw invalidKey();
  }
  const keyHash = await hashOfKey(match[1]);
  if (unknownKeys.get(keyHash)) throw invalidKey();
  const ttl = rt.config.edgeCopies;
  let value: CachedKey | undefined;
  try {
    ({ value } = await readThrough<CachedKey>(
      rt,
      apiKeyCacheKey(keyHash),
      async () => {
        // A stale copy still answers a client that may not reach Postgres; no copy is no key.
        if (opts.cachedOnly) throw CACHED_ONLY;
        // Inside the shared lookup: requests waiting on another's lookup of the same key take no token.
        return sharedLookup(keyHash, async () => {
          await opts.beforeDatabaseLookup?.();
          return findKey(rt, keyHash);
        });
      },
      // Unknown keys are not cached: random keys must not turn into KV writes.
      {
        hitSeconds: ttl.apiKeyFresh,
        staleSeconds: ttl.apiKeyStale,
        missingSeconds: 0,
        hotSeconds: ttl.apiKeyHot,
        serveStaleOn: (err) => err === CACHED_ONLY || isDatabaseDown(err),
        staleWaitMs: STALE_WAIT_MS,
      },
    ));
  } catch (err) {
    if (err !== CACHED_ONLY) throw err;
  }
  if (!value || !timingSafeEqualStr(value.keyHash, keyHash)) {
    if (!opts.cachedOnly) unknownKeys.set(keyHash, true, UNKNOWN_KEY_SECONDS);
    throw invalidKey();
  }
  const { keyHash: _omit, ...principal } = value;
  return principal;
}
