import { z } from "zod";
import type { Read } from "../cache/read-through.ts";
import type { ListQuery, ListSort } from "../db/repositories/subscriber-list.ts";
import { LIST_SORTS, listGeneration, listSubscribers } from "../db/repositories/subscriber-list.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import { canonicalJson, sha256Hex } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import type { Page } from "../lib/pagination.ts";
import { decodeCursor, encodeCursor, pageQuery, rowsForPage, toPage } from "../lib/pagination.ts";
import type { Runtime } from "../runtime.ts";
import { EMAIL_FILTER } from "./email.ts";
import { cacheKeys, TTL, toSubscriberView } from "./model.ts";
import type { Subscriber, SubscriberStatus } from "./schema.ts";

/**
 * GET /v1/subscribers: filters, two sort orders and keyset cursors both ways, cache-first. The SQL
 * and why each filter has an index: src/db/repositories/subscriber-list.ts.
 */

/**
 * The instant an ISO 8601 date-time (already in `z.iso.datetime({ offset: true })`'s form) names,
 * at the millisecond precision the columns have: `floor` drops finer digits, `ceil` rounds up to the
 * next millisecond when any is non-zero, so a bound means the same on millisecond timestamps as it
 * does on the exact instant. Undefined outside the years 0001–9999 (in UTC), which Postgres and
 * Date.toISOString do not agree on (Postgres has no year 0).
 */
function instantOf(value: string, round: "floor" | "ceil"): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return undefined;
  const [, head, fraction = "", zone] = m;
  let ms = Date.parse(`${head}.${fraction.slice(0, 3).padEnd(3, "0")}${zone}`);
  if (round === "ceil" && /[1-9]/.test(fraction.slice(3))) ms += 1;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  return Number.isNaN(ms) || year < 1 || year > 9999 ? undefined : date;
}

const instant = (description: string) =>
  z.iso
    .datetime({ offset: true, abort: true })
    .refine(
      (v) => instantOf(v, "floor") !== undefined && instantOf(v, "ceil") !== undefined,
      "must be between the years 0001 and 9999 in UTC",
    )
    .describe(description);

/** The list's query parameters, for the route's strict query schema (unknown parameters are a 422). */
export const listQueryFields = {
  email: z
    .string()
    .trim()
    .regex(EMAIL_FILTER, "must be an email address (printable ASCII, at most 254 characters)")
    .optional()
    .describe("Exact email, case-insensitive: at most one subscriber."),
  created_after: instant("Only subscribers created after this instant (exclusive), e.g. 2026-01-31T00:00:00Z.").optional(),
  created_before: instant("Only subscribers created before this instant (exclusive).").optional(),
  updated_since: instant("Only subscribers updated at or after this instant (inclusive): incremental sync.").optional(),
  sort: z.enum(LIST_SORTS).default("created_at").describe("Newest first by this timestamp, ties broken by id."),
  limit: pageQuery.limit,
  cursor: pageQuery.opaqueCursor.optional().describe("meta.next_cursor of the previous page: the next (older) page. Not with prev_cursor."),
  prev_cursor: pageQuery.opaqueCursor
    .optional()
    .describe("meta.prev_cursor of a page: the page before it (newer), still newest first. Not with cursor."),
};

export interface SubscriberListParams {
  status?: SubscriberStatus | undefined;
  email?: string | undefined;
  created_after?: string | undefined;
  created_before?: string | undefined;
  updated_since?: string | undefined;
  sort: ListSort;
  limit: number;
  cursor?: string | undefined;
  prev_cursor?: string | undefined;
}

/** What a cursor holds: the sort it pages and the keyset position of a page's edge row. */
const SubscriberCursor = z.union([
  z.strictObject({ s: z.enum(LIST_SORTS), t: z.iso.datetime({ offset: true }), i: z.uuid() }),
  // Written before cursors named their sort (only created_at was): still accepted as that.
  z.strictObject({ c: z.iso.datetime({ offset: true }), i: z.uuid() }).transform((p) => ({ s: "created_at" as const, t: p.c, i: p.i })),
]);

const positionCursor = (sort: ListSort, row: SubscriberRow): string =>
  encodeCursor({ s: sort, t: (sort === "created_at" ? row.createdAt : row.updatedAt).toISOString(), i: row.id });

/** The keyset position in a cursor: only the form this file writes, a real instant Postgres and Date agree on, for this sort. */
function cursorPosition(cursor: string, field: "cursor" | "prev_cursor", sort: ListSort): { at: Date; id: string } {
  const invalid = (message: string, detail: string) => new DomainError("validation_failed", detail, { fields: [{ field, message }] });
  const pos = decodeCursor(cursor, SubscriberCursor);
  const at = pos ? new Date(pos.t) : undefined;
  // Years 0001–9999 only: Postgres has no year 0, and Date writes others in another form.
  if (!pos || !at || Number.isNaN(at.getTime()) || at.toISOString() !== pos.t || pos.t.startsWith("0000")) {
    throw invalid(
      "invalid cursor",
      `The ${field} is not valid; use meta.${field === "cursor" ? "next_cursor" : "prev_cursor"} from a previous page.`,
    );
  }
  if (pos.s !== sort) {
    throw invalid(
      `this cursor pages sort=${pos.s}`,
      `The ${field} belongs to a list sorted by ${pos.s}; ask with sort=${pos.s}, or start again without it.`,
    );
  }
  return { at, id: pos.i };
}

/**
 * One page of the list, cached in the Cache API under a key that covers every parameter (in its
 * normalised form) and the database snapshot it was read in: no write ever invalidates a page, and
 * none is written to KV.
 */
export async function listSubscriberPage(rt: Runtime, q: SubscriberListParams): Promise<Read<Page<Subscriber>>> {
  if (q.cursor !== undefined && q.prev_cursor !== undefined) {
    throw new DomainError("validation_failed", "Give cursor (the next page) or prev_cursor (the previous page), not both.", {
      fields: [{ field: "prev_cursor", message: "not allowed together with cursor" }],
    });
  }
  const backward = q.prev_cursor !== undefined;
  const cursor = q.cursor ?? q.prev_cursor;
  const from =
    cursor === undefined
      ? undefined
      : {
          direction: backward ? ("newer" as const) : ("older" as const),
          ...cursorPosition(cursor, backward ? "prev_cursor" : "cursor", q.sort),
        };
  // The route's schema has already refused what these cannot read.
  const bound = (v: string | undefined, round: "floor" | "ceil") => (v === undefined ? undefined : instantOf(v, round));
  const query: ListQuery = {
    sort: q.sort,
    status: q.status,
    email: q.email?.toLowerCase(),
    // created_at > t is created_at > floor(t) on millisecond columns; < t is < ceil(t); >= t is >= ceil(t).
    createdAfter: bound(q.created_after, "floor"),
    createdBefore: bound(q.created_before, "ceil"),
    updatedSince: bound(q.updated_since, "ceil"),
    rows: rowsForPage(q.limit),
    from,
  };

  // Read before the page: a page is never older than the snapshot it is filed under.
  const generation = await listGeneration(rt.reader());
  // Hashed: every parameter is covered, equal queries share an entry, and no email is in a key name.
  const key = cacheKeys.list(generation, await sha256Hex(canonicalJson(query)));
  const edge = rt.edge;
  const hit = await edge?.get<Page<Subscriber>>(key);
  if (hit) return { value: hit.value, cache: "hit" };
  const rows = await listSubscribers(rt.reader(), query);
  const value = toPage(rows, q.limit, toSubscriberView, (row) => positionCursor(q.sort, row), {
    direction: backward ? "backward" : "forward",
    fromCursor: cursor !== undefined,
  });
  const stored = edge?.put(key, value, TTL.list);
  if (stored && rt.deferred) rt.defer(stored);
  else await stored;
  return { value, cache: "miss" };
}
