import { safeGet, safePut } from "../cache/read-through.ts";
import { listRevokedApiKeyIds } from "../db/repositories/api-keys.ts";
import { DomainError } from "../lib/errors.ts";
import { inIsolateMemory } from "../lib/isolate-memory.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import type { RevocationList, Standing } from "./revocation-list.ts";
import { asRevocationList, REVOCATION_LIST_MAX, revocationListOf, sameList, standingOf } from "./revocation-list.ts";

/**
 * Where a signed key's revocation is found, nearest first: this isolate's copy of the list, asked
 * again every API_KEY_HOT_SECONDS; this location's Cache API copy, served while younger than that
 * (and then kept only for what is left of it, so the two levels together stay within it); the one
 * KV key, written by each revocation and re-checked by the every-minute settle; Postgres, the
 * source of truth, when KV has no list. No read ever writes KV.
 */
const LIST_KEY = "apikey:v1:revoked";

interface Held {
  revoked: ReadonlySet<string>;
  before: string | null;
  /** When the copy was read at its source (KV or Postgres): its age bounds what it may miss. */
  asOf: number;
}

/** Plain data only: a request that finds another refreshing uses the copy it has, never its promise. */
const memory = inIsolateMemory({ held: undefined as Held | undefined, refreshing: false, lastWrite: 0 }, (m) => {
  m.held = undefined;
  m.refreshing = false;
  m.lastWrite = 0;
});

/** A refresh in flight elsewhere is waited for this long past the bound before a request reads for itself. */
const REFRESH_GRACE_MS = 2_000;
/** After a failed refresh, the copy at hand answers and the sources are asked again this much later. */
const RETRY_MS = 1_000;
/** KV takes one write a second per key. */
const WRITE_SPACING_MS = 1_000;
const WRITE_ATTEMPTS = 3;

const hold = (list: RevocationList, asOf: number): Held => ({ revoked: new Set(list.ids), before: list.before, asOf });

async function fromPostgres(rt: Runtime): Promise<RevocationList> {
  return revocationListOf(await listRevokedApiKeyIds(rt.reader(), REVOCATION_LIST_MAX + 1));
}

async function fetchList(rt: Runtime, boundMs: number): Promise<Held> {
  const copy = await rt.edge?.get<RevocationList>(LIST_KEY);
  const fromEdge = copy && copy.ageMs < boundMs ? asRevocationList(copy.value) : null;
  if (copy && fromEdge) return hold(fromEdge, Date.now() - copy.ageMs);
  const list = asRevocationList(await safeGet(rt, LIST_KEY)) ?? (await fromPostgres(rt));
  const put = rt.edge?.put(LIST_KEY, list, boundMs / 1000);
  if (put) rt.defer(put);
  return hold(list, Date.now());
}

async function listFromAnother(): Promise<void> {
  const deadline = Date.now() + REFRESH_GRACE_MS;
  while (!memory.held && memory.refreshing && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
}
const POLL_MS = 5;

const unavailable = () =>
  new DomainError("unavailable", "API keys cannot be checked right now; try again shortly.", { retryAfterSeconds: 5 });

/** Whether the revocation list holds this signed key, refreshing this isolate's copy when it is due. */
export async function revocationStanding(rt: Runtime, keyId: string): Promise<Standing> {
  const boundMs = rt.config.edgeCopies.apiKeyHot * 1000;
  // A cold isolate's concurrent first requests: one reads the list, the others wait for it as plain data.
  if (!memory.held && memory.refreshing) await listFromAnother();
  const now = Date.now();
  let held = memory.held;
  const due = !held || now - held.asOf >= boundMs;
  const othersRefreshing = held && memory.refreshing && now - held.asOf < boundMs + REFRESH_GRACE_MS;
  if (due && !othersRefreshing) {
    memory.refreshing = true;
    try {
      held = await fetchList(rt, boundMs);
      memory.held = held;
    } catch (err) {
      // Both stores and Postgres failed: a copy at hand still answers (what it cannot know is the
      // revocations made meanwhile); without one, a signed key cannot be checked.
      rt.log.warn("api_key_revocations_unavailable", { error: errorMessage(err) });
      if (!held) throw unavailable();
      held = { ...held, asOf: now - boundMs + RETRY_MS };
      memory.held = held;
    } finally {
      memory.refreshing = false;
    }
  }
  return standingOf(held!, keyId);
}

/**
 * After a revocation commits: this isolate and this location see it at once; the KV key is written
 * from Postgres (so it holds every revocation committed before it), at most once a second from this
 * isolate, retried when KV refuses. A write that still fails, or one raced by another location's,
 * is repaired by the every-minute settle (settleRevocations).
 */
export async function publishRevocations(rt: Runtime): Promise<void> {
  const list = await fromPostgres(rt);
  memory.held = hold(list, Date.now());
  await rt.edge?.delete(LIST_KEY);
  // Awaited, not deferred: revocations are rare, and the write then shows on the request's own line.
  await writeSpaced(rt);
}

async function writeSpaced(rt: Runtime): Promise<void> {
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    const wait = memory.lastWrite + WRITE_SPACING_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    memory.lastWrite = Date.now();
    try {
      // Read right before the write: a revocation that committed while this one waited is in it.
      if (await safePut(rt, LIST_KEY, await fromPostgres(rt))) return;
    } catch (err) {
      rt.log.warn("api_key_revocations_read_failed", { error: errorMessage(err) });
    }
  }
  rt.log.error("api_key_revocations_not_published", { attempts: WRITE_ATTEMPTS });
}

/** Cron: the KV list is rewritten only when it differs from Postgres (absent, a lost write, a revocation made in SQL). */
export async function settleRevocations(rt: Runtime): Promise<Record<string, unknown>> {
  const want = await fromPostgres(rt);
  const have = asRevocationList(await safeGet(rt, LIST_KEY));
  if (have && sameList(have, want)) return { revoked_listed: want.ids.length, written: 0 };
  if (!(await safePut(rt, LIST_KEY, want))) throw new Error("the revocation list could not be written");
  return { revoked_listed: want.ids.length, written: 1 };
}
