import { z } from "zod";

/** Provider times: local wall-clock time with no zone, e.g. 2021-06-30T21:00:00. Compared as UTC. */
const PROVIDER_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/** True only for a real calendar date and time: 2021-09-31T20:00:00 is rejected, not rolled over. */
export function isValidProviderTime(value: string): boolean {
  const m = PROVIDER_TIME.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

const providerTime = z.string().refine(isValidProviderTime, { message: "not a valid date-time (YYYY-MM-DDTHH:MM:SS)" });
const bool = z.enum(["true", "false"]).transform((v) => v === "true");
const id = z.string().trim().min(1).max(64);
const price = z
  .string()
  .regex(/^\d{1,10}(\.\d{1,2})?$/, "not a price with at most two decimals")
  .transform(Number);

/** The zod schema for a zone: the reference for parseZone below, and what the docs describe. */
export const ZoneAttributes = z.object({
  zone_id: id,
  name: z.string().max(255),
  capacity: z
    .string()
    .regex(/^\d{1,9}$/, "not a non-negative integer")
    .transform(Number),
  price,
  numbered: bool,
});

const CAPACITY = /^\d{1,9}$/;
const PRICE = /^\d{1,10}(\.\d{1,2})?$/;

/**
 * Same rules as ZoneAttributes, by hand. Zones are the bulk of a document (a million in 5,000 plans
 * x 200 zones) and zod's per-object cost there was ~2.9 s of the run's CPU; plans and base plans,
 * a thousand times fewer, keep the zod schemas.
 */
export function parseZone(a: Record<string, string>): { ok: true; zone: ProviderZone } | { ok: false; reason: string } {
  const { name, capacity, price, numbered } = a;
  const zoneId = a.zone_id?.trim();
  if (!zoneId || zoneId.length > 64) return { ok: false, reason: "zone_id: missing or not an id" };
  if (name === undefined || name.length > 255) return { ok: false, reason: "name: missing or too long" };
  if (capacity === undefined || !CAPACITY.test(capacity)) return { ok: false, reason: "capacity: not a non-negative integer" };
  if (price === undefined || !PRICE.test(price)) return { ok: false, reason: "price: not a price with at most two decimals" };
  if (numbered !== "true" && numbered !== "false") return { ok: false, reason: 'numbered: expected "true" or "false"' };
  return { ok: true, zone: { zoneId, name, capacity: Number(capacity), price: Number(price), numbered: numbered === "true" } };
}

export const BasePlanAttributes = z.object({
  base_plan_id: id,
  title: z.string().trim().min(1).max(500),
  sell_mode: z.string().trim().min(1).max(32),
  organizer_company_id: id.optional(),
});

export const PlanAttributes = z
  .object({
    plan_id: id,
    plan_start_date: providerTime,
    plan_end_date: providerTime,
    sell_from: providerTime.optional(),
    sell_to: providerTime.optional(),
    sold_out: bool.default(false),
  })
  // Same fixed-width format, so string order is time order.
  .refine((p) => p.plan_end_date >= p.plan_start_date, { message: "plan_end_date is before plan_start_date", path: ["plan_end_date"] });

export type ProviderZone = {
  zoneId: string;
  name: string;
  capacity: number;
  price: number;
  numbered: boolean;
};

/** One plan as the provider described it in one document, with its base plan's fields. */
export type ProviderPlan = {
  basePlanId: string;
  title: string;
  sellMode: string;
  organizerCompanyId: string | null;
  planId: string;
  startsAt: string;
  endsAt: string;
  sellFrom: string | null;
  sellTo: string | null;
  soldOut: boolean;
  zones: ProviderZone[];
};

export type BasePlanFields = Pick<ProviderPlan, "basePlanId" | "title" | "sellMode" | "organizerCompanyId">;

/**
 * The legacy feed used event names (eventList/base_event/event with *_event_* attributes). They are
 * mapped onto the current names before validation so one schema covers both.
 */
const LEGACY_ATTRIBUTES: Record<string, string> = {
  base_event_id: "base_plan_id",
  event_id: "plan_id",
  event_start_date: "plan_start_date",
  event_end_date: "plan_end_date",
};

export function normaliseAttributes(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) out[LEGACY_ATTRIBUTES[k] ?? k] = v;
  return out;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "element"}: ${i.message}`).join("; ");
}
