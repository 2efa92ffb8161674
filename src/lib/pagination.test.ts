import { describe, expect, it } from "vitest";
import { listBody, toPage } from "./pagination.ts";

// Rows are numbers, newest (largest) first; a row's cursor is its number.
const view = (n: number) => n;
const cursorOf = (n: number) => String(n);

describe("toPage", () => {
  it("forward lists (no walk): a next cursor when a row is left over, never a previous one", () => {
    expect(toPage([9, 8, 7], 2, view, cursorOf)).toEqual({ data: [9, 8], nextCursor: "8", prevCursor: null });
    expect(toPage([9, 8], 2, view, cursorOf)).toEqual({ data: [9, 8], nextCursor: null, prevCursor: null });
  });

  it("forward from a cursor: the previous cursor is the page's first row", () => {
    const walk = { direction: "forward", fromCursor: true } as const;
    expect(toPage([6, 5, 4], 2, view, cursorOf, walk)).toEqual({ data: [6, 5], nextCursor: "5", prevCursor: "6" });
    expect(toPage([], 2, view, cursorOf, walk)).toEqual({ data: [], nextCursor: null, prevCursor: null });
  });

  it("backward: rows arrive nearest the cursor first and leave in list order; the extra row means a previous page", () => {
    const walk = { direction: "backward", fromCursor: true } as const;
    // Before cursor 5: 6, 7, and 8 left over.
    expect(toPage([6, 7, 8], 2, view, cursorOf, walk)).toEqual({ data: [7, 6], nextCursor: "6", prevCursor: "7" });
    // The start of the list: no previous page.
    expect(toPage([6, 7], 2, view, cursorOf, walk)).toEqual({ data: [7, 6], nextCursor: "6", prevCursor: null });
  });
});

describe("listBody", () => {
  it("links carry one cursor parameter each, keeping the rest of the query", () => {
    const body = listBody("http://x.test/v1/things?status=a&cursor=old&limit=2", 2, { data: [1], nextCursor: "n", prevCursor: "p" });
    expect(body.meta).toEqual({ limit: 2, next_cursor: "n", prev_cursor: "p" });
    expect(body.links).toEqual({ next: "/v1/things?status=a&cursor=n&limit=2", prev: "/v1/things?status=a&limit=2&prev_cursor=p" });
    const first = listBody("http://x.test/v1/things?prev_cursor=q", 25, { data: [], nextCursor: "n", prevCursor: null });
    expect(first.links).toEqual({ next: "/v1/things?cursor=n", prev: null });
  });
});
