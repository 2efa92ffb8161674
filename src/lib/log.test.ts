import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, errorMessage } from "./log.ts";
import { newUnits, withMeter } from "./meter.ts";

describe("errorMessage", () => {
  it("never carries a driver's parameters, quoted values or anything shaped like an email", () => {
    const driver = Object.assign(new Error('invalid input syntax for type uuid: "mallory@evil.example"'), { code: "22P02" });
    const wrapped = new Error(
      'Failed query: insert into "subscribers" ("email", "name") values ($1, $2)\nparams: mallory@evil.example,Mallory',
      { cause: driver },
    );
    const text = errorMessage(wrapped);
    expect(text).toBe("Error: Failed query (cause: Error [22P02]: invalid input syntax for type uuid: <value>)");
    expect(errorMessage(new Error("lookup of bob@example.com failed"))).toBe("Error: lookup of <email> failed");
    expect(errorMessage({ message: "socket closed" })).toBe("socket closed");
  });

  it("is bounded in length and depth", () => {
    let err: Error = new Error("x".repeat(1_000));
    for (let i = 0; i < 10; i++) err = new Error("outer", { cause: err });
    expect(errorMessage(err).length).toBeLessThan(400);
  });
});

describe("sampled request lines", () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(): Record<string, unknown>[] {
    const lines: Record<string, unknown>[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(JSON.parse(String(line))));
    }
    return lines;
  }

  it("a request sampled out writes no info line, but every warn and error line, and its units are still counted", () => {
    const lines = capture();
    const units = newUnits();
    const log = createLogger("debug", { request_id: "r" }, { rate: 0.01, kept: false });
    withMeter(units, () => {
      log.info("http_request", { kv_reads: 1 });
      log.with({ route: "/x" }).debug("detail");
      units.kv_reads += 2;
      log.warn("dependency_unavailable");
      log.error("unhandled_error");
      log.unsampled().info("http_request", { status: 404 });
    });
    expect(lines.map((l) => [l.event, l.sample_rate])).toEqual([
      ["dependency_unavailable", 1],
      ["unhandled_error", 1],
      ["http_request", 1],
    ]);
    // Only the lines written are log events; the other units are the meter's, sampled or not.
    expect(units).toMatchObject({ log_events: 3, kv_reads: 2 });
  });

  it("a request kept says the rate it was kept at on its sampled lines", () => {
    const lines = capture();
    const log = createLogger("info", {}, { rate: 0.01, kept: true }).with({ request_id: "r" });
    log.info("http_request");
    log.warn("slow");
    expect(lines.map((l) => [l.event, l.sample_rate, l.request_id])).toEqual([
      ["http_request", 0.01, "r"],
      ["slow", 1, "r"],
    ]);
  });

  it("lines outside a request (queue batches, cron runs) are never sampled and carry no rate", () => {
    const lines = capture();
    createLogger("info", { batch_id: "b" }).info("queue_batch");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toHaveProperty("sample_rate");
  });
});
