import type { Executor } from "../db/client.ts";
import type { NewBasePlanRow, NewPlanRow, ZoneColumns } from "../db/repositories/plans.ts";
import { knownPlans, monthsOfRetitledBasePlans, replaceZones, touchPlans, upsertBasePlans, upsertPlans } from "../db/repositories/plans.ts";
import { canonicalJson, hex, sha256Hex } from "../lib/crypto.ts";
import { errorMessage } from "../lib/log.ts";
import { ProviderError } from "../providers/errors.ts";
import { PlanDocumentError, PlanStreamParser } from "../providers/plan-parser.ts";
import type { ProviderPlan } from "../providers/plan-schema.ts";
import { planUuid } from "./model.ts";
import type { SyncReport } from "./schema.ts";

/**
 * Ingest: the provider's document, streamed once, into Postgres inside the sync's transaction. Only
 * plans whose content changed are written; unchanged ones only have last_seen_at touched. The months
 * ("YYYY-MM" of start) whose search index parts the changes affect are collected in `touched`.
 */

/** Bounds memory and statement size: flush after this many zones or plans. */
const FLUSH_ZONES = 5_000;
const FLUSH_PLANS = 250;
const PLAN_ROWS_PER_STATEMENT = 250;

type Batch = { plans: ProviderPlan[]; zones: number };

async function toRow(p: ProviderPlan): Promise<NewPlanRow & { id: string; contentHash: string }> {
  const prices = p.zones.map((z) => z.price);
  const id = planUuid(p.basePlanId, p.planId);
  return {
    id,
    basePlanId: p.basePlanId,
    planId: p.planId,
    startsAt: p.startsAt,
    endsAt: p.endsAt,
    sellFrom: p.sellFrom,
    sellTo: p.sellTo,
    soldOut: p.soldOut,
    everOnline: p.sellMode === "online",
    minPrice: Math.min(...prices),
    maxPrice: Math.max(...prices),
    zoneCount: p.zones.length,
    // Everything the provider said about the plan, its base plan's fields included.
    contentHash: await sha256Hex(canonicalJson(p)),
  };
}

/** Writes one batch: only plans whose content changed are upserted and get their zones replaced. */
async function storeBatch(tx: Executor, batch: Batch, report: SyncReport, unchanged: string[], touched: Set<string>): Promise<void> {
  // Within one document the last occurrence of a (base_plan_id, plan_id) wins, like across documents.
  const byId = new Map<string, { plan: ProviderPlan; row: Awaited<ReturnType<typeof toRow>> }>();
  for (const plan of batch.plans) {
    const row = await toRow(plan);
    byId.set(row.id, { plan, row });
  }
  const known = await knownPlans(tx, [...byId.keys()]);
  const changed = [...byId.values()].filter(({ row }) => known.get(row.id)?.hash !== row.contentHash);
  for (const { row } of byId.values()) if (known.get(row.id)?.hash === row.contentHash) unchanged.push(row.id);
  report.counts.skipped += byId.size - changed.length;
  if (changed.length === 0) return;
  for (const { row } of changed) {
    const before = known.get(row.id);
    // Searchable once online; a plan that moved leaves its old month and enters its new one.
    if (!before?.everOnline && !row.everOnline) continue;
    touched.add(row.startsAt.slice(0, 7));
    if (before) touched.add(before.startsAt.slice(0, 7));
  }

  const bases = new Map<string, NewBasePlanRow>();
  for (const { plan } of changed) {
    bases.set(plan.basePlanId, {
      basePlanId: plan.basePlanId,
      title: plan.title,
      sellMode: plan.sellMode,
      organizerCompanyId: plan.organizerCompanyId,
      everOnline: plan.sellMode === "online",
    });
  }
  // A new title changes the summaries of the base plan's other plans too, in the document or not.
  for (const month of await monthsOfRetitledBasePlans(tx, [...bases.values()])) touched.add(month);
  await upsertBasePlans(tx, [...bases.values()]);
  for (let i = 0; i < changed.length; i += PLAN_ROWS_PER_STATEMENT) {
    await upsertPlans(
      tx,
      changed.slice(i, i + PLAN_ROWS_PER_STATEMENT).map((c) => c.row),
    );
  }
  const cols: ZoneColumns = { planId: [], position: [], zoneId: [], name: [], capacity: [], price: [], numbered: [] };
  for (const { plan, row } of changed) {
    plan.zones.forEach((z, position) => {
      cols.planId.push(row.id);
      cols.position.push(position);
      cols.zoneId.push(z.zoneId);
      cols.name.push(z.name);
      cols.capacity.push(z.capacity);
      cols.price.push(z.price);
      cols.numbered.push(z.numbered);
    });
  }
  await replaceZones(
    tx,
    changed.map((c) => c.row.id),
    cols,
  );
  report.counts.upserted += changed.length;
  report.counts.zones_written += cols.planId.length;
}

/** Reads the body once: bytes go to the SHA-256 digest and, decoded, to the streaming parser. */
export async function ingestStream(
  tx: Executor,
  body: ReadableStream<Uint8Array>,
  report: SyncReport,
  lastHash: string | null,
  touched: Set<string>,
): Promise<void> {
  const parser = new PlanStreamParser();
  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const unchanged: string[] = [];
  let batch: Batch = { plans: [], zones: 0 };

  const accept = async (plans: ProviderPlan[]) => {
    for (const p of plans) {
      if (p.sellMode === "online") report.counts.online++;
      batch.plans.push(p);
      batch.zones += p.zones.length;
      if (batch.zones >= FLUSH_ZONES || batch.plans.length >= FLUSH_PLANS) {
        const full = batch;
        batch = { plans: [], zones: 0 };
        await storeBatch(tx, full, report, unchanged, touched);
      }
    }
  };

  const reader = body.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        // Dropped connection, body deadline, size cap: the document cannot be had in full.
        throw err instanceof ProviderError
          ? err
          : new ProviderError("unavailable", `reading the provider's document failed: ${errorMessage(err)}`, 60);
      }
      if (next.done) break;
      const value = next.value;
      report.document.bytes += value.byteLength;
      await digestWriter.write(value);
      let text: string;
      try {
        text = decoder.decode(value, { stream: true });
      } catch {
        throw new PlanDocumentError("the document is not valid UTF-8");
      }
      await accept(parser.write(text));
    }
    await accept(parser.write(decoder.decode()));
    await accept(parser.end());
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    report.counts.base_plans = parser.counters.basePlans;
    report.counts.plans_seen = parser.counters.plans;
    report.counts.invalid = parser.counters.invalid;
    report.invalid_samples = parser.invalidSamples;
  }
  await storeBatch(tx, batch, report, unchanged, touched);
  await digestWriter.close();
  report.document.sha256 = hex(await digest.digest);
  // An identical document wrote nothing so far; it is not worth a write just to bump last_seen.
  if (report.document.sha256 !== lastHash) {
    for (let i = 0; i < unchanged.length; i += 5_000) await touchPlans(tx, unchanged.slice(i, i + 5_000));
  }
}
