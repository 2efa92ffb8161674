import { safeDelete, safeGet, safePut } from "../cache/read-through.ts";
import type { Database } from "../db/client.ts";
import type { PlanSummaryRow } from "../db/repositories/plans.ts";
import { searchablePlanPage } from "../db/repositories/plans.ts";
import { hex } from "../lib/crypto.ts";
import type { Runtime } from "../runtime.ts";
import { planCacheKeys, toEventSummary } from "./model.ts";
import type { EventSummary, SyncReport } from "./schema.ts";
import type { Manifest, PartRef } from "./search-index.ts";
import { rememberManifest } from "./search-index.ts";

/**
 * Builds and publishes the split search index (./search-index.ts). A sync that changed plans
 * rebuilds only the months it touched, read from Postgres through the (starts_at, id) index; the
 * other parts are carried over from the previous manifest. When there is no manifest of the
 * generation just before (a failed publication, a lost cache), every month is rebuilt, streaming:
 * at most one page of rows and one part are in memory at a time.
 */

/** Old parts stay readable this long after a manifest stops listing them (see Manifest.retired). */
const RETIRED_GRACE_MS = 60 * 60 * 1000;
const ROWS_PER_PAGE = 2_000;

export type IndexReport = NonNullable<SyncReport["index"]>;

/** What a sync changed: the months ("YYYY-MM") whose parts must be rebuilt, and the generation it changed. */
export interface IndexChanges {
  months: ReadonlySet<string>;
  previousGeneration: string | null;
}

const encoder = new TextEncoder();

/** UTF-8 length without encoding: summaries are serialised once, to be measured and then written. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

const monthOf = (isoOrPg: string) => isoOrPg.slice(0, 7);

function nextMonth(month: string): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return m === 12 ? `${String(y + 1).padStart(4, "0")}-01` : `${String(y).padStart(4, "0")}-${String(m + 1).padStart(2, "0")}`;
}

/** Cuts a stream of summaries in search order into parts of at most `budget` bytes per month. */
class PartCutter {
  #events: EventSummary[] = [];
  #pieces: string[] = [];
  #bytes = 1; // "[" and "]", minus the comma the first piece does not need
  #month = "";
  #last = "";

  constructor(
    private readonly budget: number,
    private readonly emit: (events: EventSummary[], json: string, bytes: number, month: string) => Promise<void>,
  ) {}

  async add(e: EventSummary): Promise<void> {
    const piece = JSON.stringify(e);
    const size = utf8Length(piece) + 1;
    const start = `${e.start_date}T${e.start_time}`;
    const month = monthOf(start);
    // Never between equal starts: parts' start ranges stay disjoint, so one can be told by its range.
    if (this.#events.length > 0 && (month !== this.#month || (this.#bytes + size > this.budget && start !== this.#last)))
      await this.flush();
    this.#month = month;
    this.#last = start;
    this.#events.push(e);
    this.#pieces.push(piece);
    this.#bytes += size;
  }

  async flush(): Promise<void> {
    if (this.#events.length === 0) return;
    const events = this.#events;
    const json = `[${this.#pieces.join(",")}]`;
    const bytes = this.#bytes;
    this.#events = [];
    this.#pieces = [];
    this.#bytes = 1;
    await this.emit(events, json, bytes, this.#month);
  }
}

/** Streams searchable plans with starts in [from, before) in search order, a page at a time. */
async function eachPlan(db: Database, from: string | null, before: string | null, visit: (row: PlanSummaryRow) => Promise<void>) {
  let after: { startsAt: string; id: string } | null = null;
  for (;;) {
    const rows = await searchablePlanPage(db, { from, before, after, rows: ROWS_PER_PAGE });
    for (const row of rows) await visit(row);
    const last = rows.at(-1);
    if (!last || rows.length < ROWS_PER_PAGE) return;
    after = { startsAt: last.startsAt, id: last.id };
  }
}

/**
 * Rebuilds what `changes` says changed (or everything when the published manifest is not the one
 * those changes apply to), then publishes: new parts first, the manifest next, its generation
 * marker last, so a reader that sees a marker or manifest always finds every part it lists.
 */
export async function rebuildSearchIndex(
  rt: Runtime,
  db: Database,
  generation: string,
  changes: IndexChanges | null,
): Promise<IndexReport> {
  const previous = await safeGet<Manifest>(rt, planCacheKeys.indexManifest);
  const incremental = changes !== null && previous !== null && previous.generation === changes.previousGeneration;
  // A recently retired part is still stored (see Manifest.retired): listing it again needs no write.
  // Not one near its deletion, which a publication working from an older manifest might carry out.
  const recent = (previous?.retired ?? []).filter((r) => Date.now() - r.at < RETIRED_GRACE_MS / 2);
  const known = new Set([...(previous?.parts ?? []), ...recent].map((p) => p.hash));
  const parts: PartRef[] = [];
  let written = 0;
  let stored = true;

  const cutter = new PartCutter(rt.config.searchIndexPartBytes, async (events, json, bytes, month) => {
    const hash = hex(await crypto.subtle.digest("SHA-256", encoder.encode(json))).slice(0, 32);
    const first = events[0] as EventSummary;
    const last = events.at(-1) as EventSummary;
    let maxEnd = "";
    for (const e of events) {
      const end = `${e.end_date}T${e.end_time}`;
      if (end > maxEnd) maxEnd = end;
    }
    parts.push({
      hash,
      month,
      first: `${first.start_date}T${first.start_time}`,
      last: `${last.start_date}T${last.start_time}`,
      maxEnd,
      plans: events.length,
      bytes,
    });
    if (known.has(hash)) return;
    known.add(hash);
    written++;
    // No expiry: a part the manifest lists must not vanish while nothing changes it.
    if (!(await safePut(rt, planCacheKeys.indexPart(hash), events))) stored = false;
  });
  const add = (row: PlanSummaryRow) => cutter.add(toEventSummary(row));

  let months: number;
  if (incremental && previous) {
    const touched = [...changes.months].sort();
    for (const month of touched) {
      await eachPlan(db, `${month}-01 00:00:00`, `${nextMonth(month)}-01 00:00:00`, add);
      await cutter.flush();
    }
    months = touched.length;
    parts.push(...previous.parts.filter((p) => !changes.months.has(p.month)));
    parts.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  } else {
    await eachPlan(db, null, null, add);
    await cutter.flush();
    months = new Set(parts.map((p) => p.month)).size;
  }

  const manifest: Manifest = { generation, built_at: new Date().toISOString(), parts, retired: [] };
  const listed = new Set(parts.map((p) => p.hash));
  const now = Date.now();
  const retired = [...(previous?.retired ?? []), ...(previous?.parts ?? []).map((p) => ({ hash: p.hash, at: now }))];
  const expired: string[] = [];
  for (const r of retired) {
    if (listed.has(r.hash)) continue;
    listed.add(r.hash);
    if (now - r.at > RETIRED_GRACE_MS) expired.push(r.hash);
    else manifest.retired.push(r);
  }
  const manifestBytes = utf8Length(JSON.stringify(manifest));
  if (stored)
    stored = (await safePut(rt, planCacheKeys.indexManifest, manifest)) && (await safePut(rt, planCacheKeys.indexGeneration, generation));
  if (stored) {
    rememberManifest(manifest);
    // Only once the manifest that no longer lists them is out, and long after the last that did.
    for (const hash of expired) await safeDelete(rt, planCacheKeys.indexPart(hash));
  }
  return {
    plans: parts.reduce((n, p) => n + p.plans, 0),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    stored,
    rebuild: incremental ? "incremental" : "full",
    months_rebuilt: months,
    parts: parts.length,
    parts_written: written,
    largest_part_bytes: parts.reduce((n, p) => Math.max(n, p.bytes), 0),
    manifest_bytes: manifestBytes,
  };
}
