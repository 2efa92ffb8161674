import { z } from "zod";
import { base64urlDecode, base64urlEncode } from "./base64.ts";

/**
 * Keyset pagination, one way for every list. A repository fetches `rowsForPage(limit)` rows, one more
 * than the page holds: if that extra row exists, there is another page in the direction walked, and
 * the cursor is the keyset position of the page's edge row. Cursors are opaque to clients: base64url
 * of JSON.
 */
export const rowsForPage = (limit: number): number => limit + 1;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
  /** Null on the first page, and always for lists that only walk forward. */
  prevCursor: string | null;
}

/**
 * How the rows of a list that walks both ways were fetched: `forward` in the list's own order (from
 * the start, or from a next-page cursor when `fromCursor`), or `backward` from a previous-page cursor
 * (the query runs in reverse order, nearest the cursor first). Lists that only walk forward pass none
 * and never answer a previous cursor.
 */
export interface Walk {
  direction: "forward" | "backward";
  fromCursor: boolean;
}

/**
 * A page in the list's order from the rows a repository fetched. `cursorOf` turns a row into its
 * keyset position (usually `encodeCursor`): the next cursor is the page's last row, the previous
 * cursor its first.
 */
export function toPage<Row, T>(rows: Row[], limit: number, view: (row: Row) => T, cursorOf: (row: Row) => string, walk?: Walk): Page<T> {
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const backward = walk?.direction === "backward";
  if (backward) page.reverse();
  const first = page.at(0);
  const last = page.at(-1);
  // Walking backward, the rows after the cursor are the next page; walking forward from a cursor,
  // the rows before it are the previous one.
  const hasNext = backward || more;
  const hasPrev = backward ? more : walk?.fromCursor === true;
  return {
    data: page.map(view),
    nextCursor: hasNext && last !== undefined ? cursorOf(last) : null,
    prevCursor: hasPrev && first !== undefined ? cursorOf(first) : null,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export const encodeCursor = (position: unknown): string => base64urlEncode(encoder.encode(JSON.stringify(position)));

/** The position a cursor holds, or undefined when it is not one this schema accepts. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(decoder.decode(base64urlDecode(cursor))));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What every list route answers. */
export interface ListBody<T> {
  data: T[];
  meta: { limit: number; next_cursor: string | null; prev_cursor: string | null };
  links: { next: string | null; prev: string | null };
}

/** The request's own path and query with this one cursor parameter set and the other removed. */
function linkWith(requestUrl: string, set: "cursor" | "prev_cursor", cursor: string): string {
  const url = new URL(requestUrl);
  url.searchParams.delete(set === "cursor" ? "prev_cursor" : "cursor");
  url.searchParams.set(set, cursor);
  return `${url.pathname}${url.search}`;
}

/** The list envelope for a page: next and previous links are the request's own path and query with the page's cursor. */
export function listBody<T>(requestUrl: string, limit: number, page: Page<T>): ListBody<T> {
  // `?? null`: pages cached before previous cursors existed have none.
  const prev = page.prevCursor ?? null;
  return {
    data: page.data,
    meta: { limit, next_cursor: page.nextCursor, prev_cursor: prev },
    links: {
      next: page.nextCursor ? linkWith(requestUrl, "cursor", page.nextCursor) : null,
      prev: prev ? linkWith(requestUrl, "prev_cursor", prev) : null,
    },
  };
}

/** The list envelope every paginated route answers with. */
export const pageSchema = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({
      data: z.array(item),
      meta: z.object({
        limit: z.number().int(),
        next_cursor: z.string().nullable(),
        prev_cursor: z.string().nullable().describe("Null on the first page and for lists that only page forward."),
      }),
      links: z.object({ next: z.string().nullable(), prev: z.string().nullable() }),
    })
    .meta({ id });

/** The page query every list takes: `limit` 1 to 100 (25 when absent); a cursor as the list defines it. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(25),
  /** A cursor of encodeCursor's: opaque to clients. */
  opaqueCursor: z.string().min(1).max(512),
};

/** The query of a list whose cursor is the last row's id (oldest or newest first by a UUIDv7). */
export const idPageQuery = z.strictObject({ limit: pageQuery.limit, cursor: z.uuid().optional() });
