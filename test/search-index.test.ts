// The split /search index (src/plans/search-index.ts, index-build.ts) answers exactly what Postgres
// answers, byte for byte, for random ranges: over many plans spread across many months, with months
// cut into several parts (the part budget is set small here), at part borders, with unbounded sides,
// from this isolate's memory and cold from the cache, built in memory and streamed, and after
// incremental syncs that moved plans between months, retitled base plans and turned one online.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect } from "vitest";
import { searchPlansInRange } from "../src/db/repositories/plans.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import { toEventSummary } from "../src/plans/model.ts";
import type { SearchRange } from "../src/plans/search.ts";
import { searchEvents } from "../src/plans/search.ts";
import type { Manifest } from "../src/plans/search-index.ts";
import { createRuntime } from "../src/runtime.ts";
import { appWith, bearer, createTestKey, setProviderDocuments, testDb } from "./helpers.ts";
import type { Event, Report } from "./plan-helpers.ts";
import { it, syncSamplePlans } from "./plan-helpers.ts";

it.beforeAll(({ admin }) => syncSamplePlans(admin));

const PART_BYTES = 2_048;
const small = { SEARCH_INDEX_PART_BYTES: String(PART_BYTES) };
// Reads with the small budget stream every answer wider than two parts; with the default, none.
const readers = [createRuntime({ ...env, ...small } as Env), createRuntime(env)];

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface P {
  base: number;
  id: number;
  start: number; // ms since epoch
  hours: number;
  price: number;
}
interface Base {
  id: number;
  title: string;
  online: boolean;
  plans: P[];
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
const SPAN_FROM = Date.UTC(2040, 0, 1);
const SPAN_MS = Date.UTC(2043, 0, 1) - SPAN_FROM;
const HOT_MONTH = Date.UTC(2041, 4, 1);
const TITLES = ["Concierto", "Ópera en el Real", "Kabuki 歌舞伎", "Jazz 🎷 & Blues", 'Teatro "Nuevo"', "Flamenco"];

function generate(seed: number): Base[] {
  const rnd = random(seed);
  const bases: Base[] = [];
  for (let b = 0; b < 30; b++) {
    const plans: P[] = [];
    const n = 5 + Math.floor(rnd() * 20);
    for (let i = 0; i < n; i++) {
      // A third of the plans in one month (cut into many parts), a dozen of them at the same instant.
      const hot = rnd() < 0.33;
      const start = hot
        ? b % 3 === 0 && i % 4 === 0
          ? Date.UTC(2041, 4, 10, 20)
          : HOT_MONTH + Math.floor(rnd() * 30 * 24) * 3_600_000
        : SPAN_FROM + Math.floor((rnd() * SPAN_MS) / 1_800_000) * 1_800_000;
      // Mostly a few hours; some last weeks and end in another month.
      const hours = rnd() < 0.1 ? 24 * (1 + Math.floor(rnd() * 40)) : 1 + Math.floor(rnd() * 4);
      plans.push({ base: b, id: i, start, hours, price: 10 + Math.floor(rnd() * 90) });
    }
    bases.push({ id: b, title: `${TITLES[b % TITLES.length]} ${b}`, online: b % 7 !== 3, plans });
  }
  return bases;
}

function xml(bases: Base[]): string {
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n<planList version="1.0">\n<output>\n';
  for (const b of bases) {
    out += `<base_plan base_plan_id="${660_000 + b.id}" sell_mode="${b.online ? "online" : "offline"}" title="${esc(b.title)}">\n`;
    for (const p of b.plans) {
      const start = iso(p.start);
      out += `<plan plan_start_date="${start}" plan_end_date="${iso(p.start + p.hours * 3_600_000)}" plan_id="${p.id}" sell_from="2039-01-01T00:00:00" sell_to="${start}" sold_out="false">`;
      out += `<zone zone_id="1" capacity="10" price="${p.price}.00" name="Pista" numbered="false" /><zone zone_id="2" capacity="5" price="${p.price + 20}.50" name="Palco" numbered="true" /></plan>\n`;
    }
    out += "</base_plan>\n";
  }
  return `${out}</output>\n</planList>\n`;
}

const month = (ms: number) => iso(ms).slice(0, 7);

/** The months a sync from `prev` to `next` must rebuild: those of changed searchable plans, before and after. */
function changedMonths(prev: Base[], next: Base[]): Set<string> {
  const out = new Set<string>();
  for (const b of next) {
    const old = prev.find((o) => o.id === b.id) as Base;
    if (!old.online && !b.online) continue;
    if (old.title !== b.title) for (const p of old.plans) out.add(month(p.start));
    for (const p of b.plans) {
      const was = old.plans.find((o) => o.id === p.id);
      if (was && was.start === p.start && was.price === p.price && old.online === b.online && old.title === b.title) continue;
      out.add(month(p.start));
      if (was) out.add(month(was.start));
    }
  }
  return out;
}

let syncAsAdmin: () => Promise<Report>;

beforeAll(async () => {
  const db = testDb();
  const key = await createTestKey(db, ["admin"], "split-index");
  await db.close();
  const app = appWith(small);
  syncAsAdmin = async () => {
    const res = await app("/v1/admin/plans/sync", { method: "POST", headers: bearer(key) });
    expect(res.status).toBe(200);
    return (await res.json<{ data: Report }>()).data;
  };
});

async function manifest(): Promise<Manifest> {
  const m = await env.CACHE.get<Manifest>("plans:index:v2:manifest", "json");
  if (!m) throw new Error("no manifest published");
  return m;
}

async function fromIndex(range: SearchRange, reader: number): Promise<{ text: string; etag: string; streamed: boolean }> {
  const rt = readers[reader] as (typeof readers)[number];
  const answer = await searchEvents(rt, range);
  expect(answer.source).not.toBe("database");
  expect(rt.dbUsed).toBe(false);
  const streamed = answer.body instanceof ReadableStream;
  return { text: await new Response(answer.body).text(), etag: answer.etag, streamed };
}

async function fromDatabase(range: SearchRange): Promise<string> {
  const db = testDb();
  try {
    const rows = await searchPlansInRange(db.db, range);
    return JSON.stringify({ data: { events: rows.map(toEventSummary) }, error: null });
  } finally {
    await db.close();
  }
}

/** Bounds worth trying: every start and end, every part's edges, a second either side, and anything in the span. */
async function boundCandidates(): Promise<string[]> {
  const m = await manifest();
  const db = testDb();
  try {
    const rows = await searchPlansInRange(db.db, { from: "2039-12-01T00:00:00", to: null });
    const instants = new Set<string>();
    for (const r of rows.map(toEventSummary)) {
      instants.add(`${r.start_date}T${r.start_time}`);
      instants.add(`${r.end_date}T${r.end_time}`);
    }
    for (const p of m.parts) for (const t of [p.first, p.last, p.maxEnd, `${p.month}-01T00:00:00`]) instants.add(t);
    const out: string[] = [];
    for (const t of instants) {
      const ms = Date.parse(`${t}Z`);
      out.push(t, iso(ms - 1_000), iso(ms + 1_000));
    }
    return out;
  } finally {
    await db.close();
  }
}

async function expectIndexMatchesDatabase(runs: number): Promise<{ streamed: number; inMemory: number }> {
  const candidates = await boundCandidates();
  const bound = fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 5, arbitrary: fc.constantFrom(...candidates) },
    { weight: 2, arbitrary: fc.integer({ min: SPAN_FROM - 40 * 86_400_000, max: SPAN_FROM + SPAN_MS + 40 * 86_400_000 }).map(iso) },
  );
  const seen = { streamed: 0, inMemory: 0 };
  await fc.assert(
    fc.asyncProperty(bound, bound, fc.integer({ min: 0, max: 1 }), fc.boolean(), async (a, b, reader, cold) => {
      const [from, to] = a !== null && b !== null && a > b ? [b, a] : [a, b];
      if (cold) resetIsolateMemory();
      const got = await fromIndex({ from, to }, reader);
      seen[got.streamed ? "streamed" : "inMemory"]++;
      expect(got.text).toBe(await fromDatabase({ from, to }));
    }),
    { numRuns: runs, seed: 20_261_126 },
  );
  return seen;
}

describe("the split search index", () => {
  const first = generate(1);

  it("cuts months over the budget into parts of consecutive starts, none over it but one instant's plans", async () => {
    await setProviderDocuments([xml(first)]);
    const report = await syncAsAdmin();
    expect(report.outcome).toBe("ok");
    const m = await manifest();
    expect(m.generation).toBe(report.id);
    expect(report.index).toMatchObject({ stored: true, parts: m.parts.length, manifest_bytes: expect.any(Number) });
    const hot = m.parts.filter((p) => p.month === "2041-05");
    expect(hot.length).toBeGreaterThan(5);
    for (let i = 1; i < m.parts.length; i++)
      expect((m.parts[i - 1] as Manifest["parts"][number]).last < (m.parts[i] as Manifest["parts"][number]).first).toBe(true);
    // A part passes the budget only to keep the plans of its last instant together. (Only this
    // file's months: other files may have published parts of their months with the default budget.)
    for (const p of m.parts.filter((p) => p.bytes > PART_BYTES && p.month >= "2039" && p.month < "2044")) {
      const events = (await env.CACHE.get<Event[]>(`plans:part:${p.hash}`, "json")) as Event[];
      const earlier = events.filter((e) => `${e.start_date}T${e.start_time}` < p.last);
      expect(new TextEncoder().encode(JSON.stringify(earlier)).byteLength).toBeLessThanOrEqual(PART_BYTES);
    }
    expect(report.index?.largest_part_bytes).toBe(Math.max(...m.parts.map((p) => p.bytes)));
  });

  it("answers exactly as the database does for random ranges", async () => {
    const seen = await expectIndexMatchesDatabase(200);
    // Both ways of building an answer were exercised.
    expect(seen.streamed).toBeGreaterThan(10);
    expect(seen.inMemory).toBeGreaterThan(10);
  });

  it("after incremental syncs that move plans between months, retitle base plans and turn one online, still does", async () => {
    const rnd = random(2);
    let doc = first;
    for (let step = 0; step < 3; step++) {
      const prev = doc;
      doc = doc.map((b) => ({
        ...b,
        // One base plan gets a new title while some of its plans leave the document (they stay stored).
        title: b.id === 5 + step ? `${b.title} (nueva)` : b.title,
        online: b.online || b.id === 3 + 7 * step,
        plans: b.plans
          .filter((p) => !(b.id === 5 + step && p.id % 2 === 0))
          .map((p) => (rnd() < 0.02 ? { ...p, start: p.start + (rnd() < 0.5 ? -1 : 1) * Math.floor(rnd() * 90) * 86_400_000 } : p))
          .map((p) => (rnd() < 0.01 ? { ...p, price: p.price + 1 } : p)),
      }));
      await setProviderDocuments([xml(doc)]);
      const report = await syncAsAdmin();
      expect(report.outcome).toBe("ok");
      expect(report.index).toMatchObject({ stored: true, rebuild: "incremental" });
      const index = report.index as NonNullable<Report["index"]>;
      // Only the touched months were rebuilt; the other parts were carried over without a write.
      expect(index.months_rebuilt).toBe(changedMonths(prev, doc).size);
      expect(index.parts_written).toBeLessThan(index.parts);
      expect((await manifest()).generation).toBe(report.id);
      await expectIndexMatchesDatabase(100);
    }
  });

  it("rebuilds in full when the published manifest is missing, and answers the same", async () => {
    await env.CACHE.delete("plans:index:v2:manifest");
    resetIsolateMemory();
    const doc = generate(1).map((b) => ({ ...b, plans: b.plans.map((p) => ({ ...p, price: p.price + 3 })) }));
    await setProviderDocuments([xml(doc)]);
    const report = await syncAsAdmin();
    expect(report.index).toMatchObject({ stored: true, rebuild: "full" });
    await expectIndexMatchesDatabase(80);
  });

  it("keeps a streamed answer's tag when only plans outside its range change, and changes it when one inside does", async () => {
    const range = { from: "2041-05-01T00:00:00", to: "2041-06-01T00:00:00" };
    const base = generate(1).map((b) => ({ ...b, plans: b.plans.map((p) => ({ ...p, price: p.price + 3 })) }));
    const before = await fromIndex(range, 0);
    expect(before.streamed).toBe(true);
    const outside = base.map((b) => ({ ...b, plans: b.plans.map((p) => (p.start < HOT_MONTH ? { ...p, price: p.price + 1 } : p)) }));
    await setProviderDocuments([xml(outside)]);
    expect((await syncAsAdmin()).counts.upserted).toBeGreaterThan(0);
    resetIsolateMemory();
    const same = await fromIndex(range, 0);
    expect(same.text).toBe(before.text);
    expect(same.etag).toBe(before.etag);
    const inside = outside.map((b) => ({
      ...b,
      plans: b.plans.map((p) => (p.start >= HOT_MONTH && p.start < Date.UTC(2041, 5, 1) ? { ...p, price: p.price + 1 } : p)),
    }));
    await setProviderDocuments([xml(inside)]);
    await syncAsAdmin();
    resetIsolateMemory();
    const changed = await fromIndex(range, 0);
    expect(changed.text).not.toBe(before.text);
    expect(changed.etag).not.toBe(before.etag);
    expect(changed.text).toBe(await fromDatabase(range));
  });
});
