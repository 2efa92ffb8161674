import { and, asc, eq, gt, gte, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { Database, Executor, Reader } from "../client.ts";
import { basePlans, plans, zones } from "../schema.ts";

type PlanRow = typeof plans.$inferSelect;
export type NewPlanRow = typeof plans.$inferInsert;
export type NewBasePlanRow = typeof basePlans.$inferInsert;
export type ZoneRow = typeof zones.$inferSelect;

/** What ingest compares a plan against: its content hash, and where it sat in the search index. */
export interface KnownPlan {
  hash: string;
  startsAt: string;
  everOnline: boolean;
}

export async function knownPlans(db: Executor, ids: string[]): Promise<Map<string, KnownPlan>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: plans.id, hash: plans.contentHash, startsAt: plans.startsAt, everOnline: plans.everOnline })
    .from(plans)
    .where(inArray(plans.id, ids));
  return new Map(rows.map((r) => [r.id, { hash: r.hash, startsAt: r.startsAt, everOnline: r.everOnline }]));
}

/**
 * Months ("YYYY-MM") of the searchable plans whose base plan is about to get another title: their
 * summaries change even when the plans themselves are not in the document. Run before the upsert.
 */
export async function monthsOfRetitledBasePlans(db: Executor, rows: { basePlanId: string; title: string }[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const res = await db.execute<{ month: string }>(sql`
    select distinct to_char(p.starts_at, 'YYYY-MM') as month
    from unnest(${sql.param(rows.map((r) => r.basePlanId))}::text[], ${sql.param(rows.map((r) => r.title))}::text[]) as n(id, title)
    join base_plans b on b.base_plan_id = n.id and b.title is distinct from n.title
    join plans p on p.base_plan_id = b.base_plan_id and p.ever_online`);
  return res.rows.map((r) => r.month);
}

/** Latest values win; once online, always online. */
export async function upsertBasePlans(db: Executor, rows: NewBasePlanRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(basePlans)
    .values(rows)
    .onConflictDoUpdate({
      target: basePlans.basePlanId,
      set: {
        title: sql`excluded.title`,
        sellMode: sql`excluded.sell_mode`,
        organizerCompanyId: sql`excluded.organizer_company_id`,
        everOnline: sql`${basePlans.everOnline} or excluded.ever_online`,
        lastSeenAt: sql`now()`,
      },
    });
}

/** Rows are new or changed plans only (the caller compared content hashes). */
export async function upsertPlans(db: Executor, rows: NewPlanRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(plans)
    .values(rows)
    .onConflictDoUpdate({
      target: [plans.basePlanId, plans.planId],
      set: {
        startsAt: sql`excluded.starts_at`,
        endsAt: sql`excluded.ends_at`,
        sellFrom: sql`excluded.sell_from`,
        sellTo: sql`excluded.sell_to`,
        soldOut: sql`excluded.sold_out`,
        everOnline: sql`${plans.everOnline} or excluded.ever_online`,
        minPrice: sql`excluded.min_price`,
        maxPrice: sql`excluded.max_price`,
        zoneCount: sql`excluded.zone_count`,
        contentHash: sql`excluded.content_hash`,
        lastSeenAt: sql`now()`,
        updatedAt: sql`now()`,
      },
    });
}

export interface ZoneColumns {
  planId: string[];
  position: number[];
  zoneId: string[];
  name: string[];
  capacity: number[];
  price: number[];
  numbered: boolean[];
}

/**
 * A changed plan's zones are replaced as a set (zone_id can repeat inside a plan, so there is no
 * natural key to upsert on). One array parameter per column keeps a 10k-zone statement small.
 */
export async function replaceZones(db: Executor, planIds: string[], cols: ZoneColumns): Promise<void> {
  if (planIds.length === 0) return;
  await db.delete(zones).where(inArray(zones.planId, planIds));
  if (cols.planId.length === 0) return;
  await db.execute(sql`
    insert into zones (plan_id, position, zone_id, name, capacity, price, numbered)
    select * from unnest(
      ${sql.param(cols.planId)}::uuid[], ${sql.param(cols.position)}::int[], ${sql.param(cols.zoneId)}::text[],
      ${sql.param(cols.name)}::text[], ${sql.param(cols.capacity)}::int[], ${sql.param(cols.price)}::numeric[],
      ${sql.param(cols.numbered)}::bool[])`);
}

/** Marks unchanged plans as seen in this document. */
export async function touchPlans(db: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.update(plans).set({ lastSeenAt: sql`now()` }).where(inArray(plans.id, ids));
}

const summaryColumns = {
  id: plans.id,
  title: basePlans.title,
  startsAt: plans.startsAt,
  endsAt: plans.endsAt,
  minPrice: plans.minPrice,
  maxPrice: plans.maxPrice,
};

export type PlanSummaryRow = { id: string; title: string; startsAt: string; endsAt: string; minPrice: number; maxPrice: number };

/**
 * One keyset page of searchable plans in search order, with starts in [from, before): how the edge
 * search index is built, a month or the whole history at a time, in bounded memory. Served by
 * plans_search_idx (starts_at, id) where ever_online.
 */
export async function searchablePlanPage(
  db: Database,
  q: { from: string | null; before: string | null; after: { startsAt: string; id: string } | null; rows: number },
): Promise<PlanSummaryRow[]> {
  const after = q.after;
  return db
    .select(summaryColumns)
    .from(plans)
    .innerJoin(basePlans, eq(basePlans.basePlanId, plans.basePlanId))
    .where(
      and(
        eq(plans.everOnline, true),
        q.from === null ? undefined : gte(plans.startsAt, q.from),
        q.before === null ? undefined : lt(plans.startsAt, q.before),
        after ? sql`(${plans.startsAt}, ${plans.id}) > (${after.startsAt}::timestamp, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(asc(plans.startsAt), asc(plans.id))
    .limit(q.rows);
}

export interface PlanRange {
  /** Inclusive bounds as provider-time strings (YYYY-MM-DDTHH:MM:SS[.sss]); null = unbounded. */
  from: string | null;
  to: string | null;
}

function rangeWhere(range: PlanRange) {
  return and(
    eq(plans.everOnline, true),
    range.from === null ? undefined : gte(plans.startsAt, range.from),
    range.to === null ? undefined : lte(plans.endsAt, range.to),
  );
}

/** Containment search straight from Postgres, for when the edge index is cold. */
export async function searchPlansInRange(db: Reader, range: PlanRange): Promise<PlanSummaryRow[]> {
  return db
    .select(summaryColumns)
    .from(plans)
    .innerJoin(basePlans, eq(basePlans.basePlanId, plans.basePlanId))
    .where(rangeWhere(range))
    .orderBy(asc(plans.startsAt), asc(plans.id));
}

export type PlanDetailRow = PlanRow & { title: string; organizerCompanyId: string | null };

const detailColumns = {
  plan: plans,
  title: basePlans.title,
  organizerCompanyId: basePlans.organizerCompanyId,
};

/** Keyset page ordered by (starts_at, id). */
export async function listPlanPage(
  db: Reader,
  q: PlanRange & { rows: number; after: { startsAt: string; id: string } | null },
): Promise<PlanDetailRow[]> {
  const after = q.after;
  const rows = await db
    .select(detailColumns)
    .from(plans)
    .innerJoin(basePlans, eq(basePlans.basePlanId, plans.basePlanId))
    .where(
      and(
        rangeWhere(q),
        after ? or(gt(plans.startsAt, after.startsAt), and(eq(plans.startsAt, after.startsAt), gt(plans.id, after.id))) : undefined,
      ),
    )
    .orderBy(asc(plans.startsAt), asc(plans.id))
    .limit(q.rows);
  return rows.map((r) => ({ ...r.plan, title: r.title, organizerCompanyId: r.organizerCompanyId }));
}

export async function findSearchablePlan(db: Reader, id: string): Promise<PlanDetailRow | undefined> {
  const [row] = await db
    .select(detailColumns)
    .from(plans)
    .innerJoin(basePlans, eq(basePlans.basePlanId, plans.basePlanId))
    .where(and(eq(plans.id, id), eq(plans.everOnline, true)))
    .limit(1);
  return row && { ...row.plan, title: row.title, organizerCompanyId: row.organizerCompanyId };
}

export async function zonesOfPlans(db: Reader, planIds: string[]): Promise<ZoneRow[]> {
  if (planIds.length === 0) return [];
  return db.select().from(zones).where(inArray(zones.planId, planIds)).orderBy(asc(zones.planId), asc(zones.position));
}
