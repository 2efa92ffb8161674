import { z } from "zod";
import { base64urlDecode, base64urlEncode } from "./base64.ts";

/**
 * Keyset pagination, one way for every list. A repository fetches `rowsForPage(limit)` rows, one more
 * than the page holds: if that extra row exists, there is a next page, and the cursor is the keyset
 * position of the page's last row. Cursors are opaque to clients: base64url of JSON.
 */
export const rowsForPage = (limit: number): number => limit + 1;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** `cursorOf` turns the page's last row into the next cursor (usually `encodeCursor` of its keyset position). */
export function toPage<Row, T>(rows: Row[], limit: number, view: (row: Row) => T, cursorOf: (last: Row) => string): Page<T> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { data: page.map(view), nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
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
  meta: { limit: number; next_cursor: string | null };
  links: { next: string | null };
}

/** The list envelope for a page: the next link is the request's own path and query with the next cursor. */
export function listBody<T>(requestUrl: string, limit: number, page: Page<T>): ListBody<T> {
  let next: string | null = null;
  if (page.nextCursor) {
    const url = new URL(requestUrl);
    url.searchParams.set("cursor", page.nextCursor);
    next = `${url.pathname}${url.search}`;
  }
  return { data: page.data, meta: { limit, next_cursor: page.nextCursor }, links: { next } };
}

/** The list envelope every paginated route answers with. */
export const pageSchema = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({
      data: z.array(item),
      meta: z.object({ limit: z.number().int(), next_cursor: z.string().nullable() }),
      links: z.object({ next: z.string().nullable() }),
    })
    .meta({ id });
