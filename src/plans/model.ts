import { v5 as uuidv5 } from "uuid";
import type { PlanDetailRow, PlanSummaryRow, ZoneRow } from "../db/repositories/plans.ts";
import type { EventSummary, Plan } from "./schema.ts";

/** Fixed namespace: a plan's id depends only on its two provider ids, in every environment. */
const PLAN_NAMESPACE = "6f1c8a52-3d4e-4b7a-9c2f-1e5d7a9b0c3d";

export function planUuid(basePlanId: string, planId: string): string {
  return uuidv5(`${basePlanId}:${planId}`, PLAN_NAMESPACE);
}

/** Postgres renders `timestamp` as "2021-06-30 21:00:00"; the API speaks ISO "2021-06-30T21:00:00". */
export const isoLocal = (pgTime: string): string => pgTime.replace(" ", "T").slice(0, 19);

export function toEventSummary(row: PlanSummaryRow): EventSummary {
  const starts = isoLocal(row.startsAt);
  const ends = isoLocal(row.endsAt);
  return {
    id: row.id,
    title: row.title,
    start_date: starts.slice(0, 10),
    start_time: starts.slice(11, 19),
    end_date: ends.slice(0, 10),
    end_time: ends.slice(11, 19),
    min_price: Number(row.minPrice),
    max_price: Number(row.maxPrice),
  };
}

export function toPlanView(row: PlanDetailRow, zones: ZoneRow[]): Plan {
  return {
    id: row.id,
    base_plan_id: row.basePlanId,
    plan_id: row.planId,
    title: row.title,
    organizer_company_id: row.organizerCompanyId,
    starts_at: isoLocal(row.startsAt),
    ends_at: isoLocal(row.endsAt),
    sell_from: row.sellFrom === null ? null : isoLocal(row.sellFrom),
    sell_to: row.sellTo === null ? null : isoLocal(row.sellTo),
    sold_out: row.soldOut,
    min_price: Number(row.minPrice),
    max_price: Number(row.maxPrice),
    zones: zones.map((z) => ({ zone_id: z.zoneId, name: z.name, capacity: z.capacity, price: Number(z.price), numbered: z.numbered })),
    first_seen_at: row.firstSeenAt.toISOString(),
    last_seen_at: row.lastSeenAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export const planCacheKeys = {
  /** The search index's manifest: its generation and the parts it is made of (src/plans/search-index.ts). */
  indexManifest: "plans:index:v2:manifest",
  /** Small marker of the index's generation, checked without fetching the manifest. */
  indexGeneration: "plans:index:v2:gen",
  /** One part of the index, content-addressed: an unchanged part keeps its key across generations. */
  indexPart: (hash: string) => `plans:part:${hash}`,
  plan: (generation: string, id: string) => `plans:${generation}:one:${id}`,
  page: (generation: string, queryHash: string) => `plans:${generation}:page:${queryHash}`,
};
