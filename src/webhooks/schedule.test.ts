import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AttemptFacts } from "./schedule.ts";
import { busyRecheckSeconds, decideAttempt, decideRound, queueDelaySeconds } from "./schedule.ts";

const at = new Date("2026-01-01T00:00:00.000Z");
const settings = { retrySchedule: [60, 300, 1800, 7200, 43_200], disableAfterMs: 5 * 86_400_000 };
const facts = (statusCode: number | null, attempts = 0, scheduleFrom = 0): AttemptFacts => ({
  statusCode,
  attemptedAt: at,
  attempts,
  scheduleFrom,
});
const later = (ms: number) => () => new Date(at.getTime() + ms);

const statusCode = fc.oneof(fc.constant(null), fc.integer({ min: 100, max: 599 }));
const failing = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 100, max: 599 }).filter((c) => (c < 200 || c >= 300) && c !== 410),
);
const schedule = fc.array(fc.integer({ min: 1, max: 43_200 }), { minLength: 1, maxLength: 8 });
const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("decideAttempt", () => {
  it("delivers on 2xx, fails on 410, retries anything else at the schedule's step", () => {
    expect(decideAttempt(facts(204), settings.retrySchedule)).toEqual({ status: "succeeded" });
    expect(decideAttempt(facts(410), settings.retrySchedule)).toEqual({ status: "failed" });
    const retry = decideAttempt(facts(500), settings.retrySchedule, () => 0.5);
    expect(retry).toEqual({ status: "pending", delaySeconds: 60, nextAttemptAt: new Date(at.getTime() + 60_000) });
  });

  it("counts attempts from where the schedule began: a redelivery gets the whole schedule again", () => {
    expect(decideAttempt(facts(null, 5, 0), settings.retrySchedule).status).toBe("failed");
    expect(decideAttempt(facts(null, 5, 5), settings.retrySchedule, () => 0.5)).toMatchObject({ status: "pending", delaySeconds: 60 });
  });

  it("property: a failed attempt is retried within ±20 % of its step, and given up exactly after the last step", () => {
    fc.assert(
      fc.property(schedule, failing, fc.nat(20), fc.nat(20), draw, (steps, code, made, from, r) => {
        const decision = decideAttempt(facts(code, made + from, from), steps, () => r);
        const step = made + 1; // this attempt's number in the schedule
        if (step > steps.length) {
          expect(decision).toEqual({ status: "failed" });
          return;
        }
        if (decision.status !== "pending") throw new Error(`attempt ${step} of ${steps.length} was not retried`);
        expect(decision.delaySeconds).toBeGreaterThanOrEqual(steps[step - 1]! * 0.8);
        expect(decision.delaySeconds).toBeLessThan(steps[step - 1]! * 1.2 + 1e-9);
        expect(Math.abs(decision.nextAttemptAt.getTime() - (at.getTime() + decision.delaySeconds * 1000))).toBeLessThan(1);
      }),
    );
  });

  it("property: with the same draw, the delays follow a growing schedule without ever shrinking", () => {
    fc.assert(
      fc.property(schedule, draw, (raw, r) => {
        const steps = [...raw].sort((a, b) => a - b);
        const delays = steps.map((_, i) => decideAttempt(facts(503, i), steps, () => r));
        for (let i = 1; i < delays.length; i++) {
          const [a, b] = [delays[i - 1]!, delays[i]!];
          if (a.status !== "pending" || b.status !== "pending") throw new Error("a step was not retried");
          expect(b.delaySeconds).toBeGreaterThanOrEqual(a.delaySeconds);
        }
      }),
    );
  });
});

describe("decideRound", () => {
  it("a success clears failing-since; a failure sets it once", () => {
    const failingSince = new Date(at.getTime() - 1000);
    expect(decideRound({ failingSince }, [facts(200)], settings, later(0)).endpoint).toEqual({ failingSince: null });
    expect(decideRound({ failingSince: null }, [facts(500)], settings, later(0)).endpoint).toEqual({ failingSince: at });
    expect(decideRound({ failingSince }, [facts(500)], settings, later(0)).endpoint).toBeUndefined();
    expect(decideRound({ failingSince: null }, [facts(200), facts(500)], settings, later(0)).endpoint).toEqual({ failingSince: at });
    expect(decideRound({ failingSince: null }, [facts(500), facts(200)], settings, later(0)).endpoint).toBeUndefined();
  });

  it("disables an endpoint failing for disableAfterMs, and not a moment before", () => {
    const since = new Date(at.getTime() - settings.disableAfterMs);
    const now = later(0);
    expect(decideRound({ failingSince: since }, [facts(null)], settings, now).endpoint).toEqual({
      enabled: false,
      disabledReason: `failing since ${since.toISOString()}`,
      disabledAt: now(),
      failingSince: since,
    });
    expect(decideRound({ failingSince: since }, [facts(null)], settings, later(-1)).endpoint).toBeUndefined();
    expect(decideRound({ failingSince: since }, [facts(200)], settings, now).endpoint).toEqual({ failingSince: null });
  });

  it("property: any 410 in a round fails its delivery and disables the endpoint, whatever else happened", () => {
    fc.assert(
      fc.property(
        fc.array(statusCode, { maxLength: 6 }),
        fc.array(statusCode, { maxLength: 6 }),
        fc.option(fc.date({ noInvalidDate: true })),
        (before, after, failingSince) => {
          const round = [...before, 410, ...after].map((c) => facts(c, 0));
          const result = decideRound({ failingSince }, round, settings, later(0));
          expect(result.decisions[before.length]).toEqual({ status: "failed" });
          expect(result.endpoint).toEqual({ enabled: false, disabledReason: "the receiver answered 410 Gone", disabledAt: at });
        },
      ),
    );
  });

  it("property: decisions match decideAttempt one by one, and the endpoint stays enabled without a 410 or a long failure", () => {
    fc.assert(
      fc.property(
        fc.array(
          statusCode.filter((c) => c !== 410),
          { minLength: 1, maxLength: 6 },
        ),
        draw,
        (codes, r) => {
          const round = codes.map((c, i) => facts(c, i));
          const result = decideRound({ failingSince: null }, round, settings, later(settings.disableAfterMs - 1), () => r);
          expect(result.decisions).toEqual(round.map((a) => decideAttempt(a, settings.retrySchedule, () => r)));
          expect(result.endpoint?.enabled).toBeUndefined();
        },
      ),
    );
  });
});

describe("queue delays", () => {
  it("property: a job's delay is whole seconds between 0 and 12 hours, and never earlier than asked within that", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (d) => {
        const q = queueDelaySeconds(d);
        expect(Number.isInteger(q) && q >= 0 && q <= 43_200).toBe(true);
        if (d <= 43_200) expect(q).toBeGreaterThanOrEqual(d);
      }),
    );
  });

  it("rechecks a busy endpoint within 2 s unless it is struggling, then at its lease's end; never under 1 s", () => {
    expect(busyRecheckSeconds(20, false)).toBe(2);
    expect(busyRecheckSeconds(20, true)).toBe(20);
    expect(busyRecheckSeconds(0.2, false)).toBe(1);
    expect(busyRecheckSeconds(-3, true)).toBe(1);
  });
});
