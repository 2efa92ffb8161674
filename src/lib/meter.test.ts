import { describe, expect, it } from "vitest";
import { count, newUnits, QUEUE_UNIT_BYTES, queueUnitsOf, unitsWithThisLine, withMeter } from "./meter.ts";

describe("the meter", () => {
  it("bills a queue message per started 64 KB of its JSON", () => {
    expect(queueUnitsOf({ a: 1 })).toBe(1);
    expect(queueUnitsOf("x".repeat(QUEUE_UNIT_BYTES - 2))).toBe(1);
    expect(queueUnitsOf("x".repeat(QUEUE_UNIT_BYTES - 1))).toBe(2);
    // Bytes, not characters: "é" is two bytes in UTF-8.
    expect(queueUnitsOf("é".repeat(QUEUE_UNIT_BYTES / 2))).toBe(2);
  });

  it("counts onto the invocation that spent, across awaits, and drops counts outside any", async () => {
    const a = newUnits();
    const b = newUnits();
    count("kv_reads");
    await Promise.all([
      withMeter(a, async () => {
        count("kv_reads");
        await new Promise((r) => setTimeout(r, 5));
        count("db_round_trips", 2);
      }),
      withMeter(b, async () => {
        await new Promise((r) => setTimeout(r, 1));
        count("kv_writes");
      }),
    ]);
    expect(a).toMatchObject({ kv_reads: 1, db_round_trips: 2, kv_writes: 0 });
    expect(b).toMatchObject({ kv_reads: 0, kv_writes: 1 });
    expect(unitsWithThisLine(a).log_events).toBe(1);
    expect(a.log_events).toBe(0);
  });
});
