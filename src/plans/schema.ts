import { z } from "zod";
import { SYNC_OUTCOMES } from "../db/repositories/sync-runs.ts";
import { PROVIDER_FAILURES } from "../providers/errors.ts";

export type { SyncOutcome } from "../db/repositories/sync-runs.ts";

/** The plan resource's shapes: the single source of its types, the routes and the OpenAPI document. */

/** The Fever Providers API's EventSummary: all 8 keys, always present. */
export const EventSummary = z
  .object({
    id: z.uuid(),
    title: z.string(),
    start_date: z.iso.date(),
    start_time: z.string().meta({ example: "21:00:00", description: "HH:MM:SS" }),
    end_date: z.iso.date(),
    end_time: z.string().meta({ example: "21:30:00" }),
    min_price: z.number(),
    max_price: z.number(),
  })
  .meta({ id: "EventSummary" });
export type EventSummary = z.infer<typeof EventSummary>;

const Zone = z.object({ zone_id: z.string(), name: z.string(), capacity: z.number().int(), price: z.number(), numbered: z.boolean() });

/** The richer /v1 view of a plan. Provider times carry no zone and are shown without one. */
export const Plan = z
  .object({
    id: z.uuid(),
    base_plan_id: z.string(),
    plan_id: z.string(),
    title: z.string(),
    organizer_company_id: z.string().nullable(),
    starts_at: z.string().meta({ example: "2021-06-30T21:00:00", description: "Provider time, no zone (compared as UTC)" }),
    ends_at: z.string(),
    sell_from: z.string().nullable(),
    sell_to: z.string().nullable(),
    sold_out: z.boolean(),
    min_price: z.number(),
    max_price: z.number(),
    zones: z.array(Zone),
    first_seen_at: z.iso.datetime(),
    last_seen_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: "Plan" });
export type Plan = z.infer<typeof Plan>;

const SYNC_TRIGGERS = ["cron", "admin"] as const;
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

export const SyncReport = z
  .object({
    id: z.uuid(),
    trigger: z.enum(SYNC_TRIGGERS),
    outcome: z.enum(SYNC_OUTCOMES),
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime(),
    ms: z.number().int(),
    attempts: z.number().int(),
    counts: z.object({
      base_plans: z.number().int(),
      /** Plan elements in the document, valid or not. */
      plans_seen: z.number().int(),
      /** Valid plans whose base plan sells online in this document. */
      online: z.number().int(),
      /** New or changed plans written (with their zones). */
      upserted: z.number().int(),
      /** Valid plans identical to what is stored: not rewritten. */
      skipped: z.number().int(),
      /** Plans skipped for invalid data (bad date, missing attribute, no zones...). */
      invalid: z.number().int(),
      zones_written: z.number().int(),
    }),
    invalid_samples: z.array(z.object({ basePlanId: z.string().nullable(), planId: z.string().nullable(), reason: z.string() })),
    document: z.object({
      bytes: z.number().int(),
      sha256: z.string().nullable(),
      etag: z.string().nullable(),
      last_modified: z.string().nullable(),
    }),
    /** The search index this run published (null when it published none: nothing changed). */
    index: z
      .object({
        /** Plans and bytes in the whole index (every part of the manifest). */
        plans: z.number().int(),
        bytes: z.number().int(),
        stored: z.boolean(),
        /** incremental: only the months this run changed were rebuilt; full: every month (no usable manifest). */
        rebuild: z.enum(["incremental", "full"]),
        months_rebuilt: z.number().int(),
        parts: z.number().int(),
        /** Parts written to the edge cache by this run; the others were reused unchanged (content-addressed). */
        parts_written: z.number().int(),
        /** The largest part and the manifest: the largest values the index keeps in the edge cache. */
        largest_part_bytes: z.number().int(),
        manifest_bytes: z.number().int(),
      })
      .nullable(),
    error: z.object({ failure: z.enum([...PROVIDER_FAILURES, "database"]), message: z.string() }).nullable(),
    /** The provider's circuit breaker as this run left it; absent when the run never reached the provider (and in older runs). */
    breaker: z.enum(["closed", "open", "half_open", "isolated"]).optional(),
  })
  .meta({ id: "PlanSyncReport" });
export type SyncReport = z.infer<typeof SyncReport>;
