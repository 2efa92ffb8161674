import { describe, expect, it } from "vitest";
import { parseBoundCached } from "./search.ts";

describe("search bounds", () => {
  it("read years as written: 0050 is not 1950, and year 0 does not exist", () => {
    expect(parseBoundCached("0050-06-01T12:00:00Z", "from")).toBe("0050-06-01T12:00:00");
    expect(parseBoundCached("0099-12-31T23:59:59", "to")).toBe("0099-12-31T23:59:59");
    expect(parseBoundCached("0000-01-01T00:00:00Z", "from")).toBeNull();
    expect(parseBoundCached("0001-01-01T00:30:00+01:00", "from")).toBeNull();
  });

  it("refuse dates the calendar does not have and convert offsets to UTC", () => {
    expect(parseBoundCached("2021-02-29T00:00:00Z", "from")).toBeNull();
    expect(parseBoundCached("2024-02-29T00:00:00Z", "from")).toBe("2024-02-29T00:00:00");
    expect(parseBoundCached("2021-06-30T23:30:00+02:00", "to")).toBe("2021-06-30T21:30:00");
  });
});
