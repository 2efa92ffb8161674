/**
 * The webhook retry schedule, as pure decisions over plain data (the I/O is in deliver.ts and
 * consume.ts):
 * - a 2xx answer delivers, and the endpoint is no longer failing;
 * - 410 Gone fails the delivery and disables the endpoint at once: the receiver said it is gone;
 * - any other answer (or none) is retried at the schedule's next step, jittered by ±20 % so a
 *   receiver's recovery is not met by a thundering herd; after the last step the delivery fails.
 *   Attempts count from where the schedule began, so a manual redelivery gets the whole schedule;
 * - an endpoint failing (no 2xx since its first failure) for `disableAfterMs` is disabled.
 */

export interface ScheduleSettings {
  /** Seconds before each retry: step n follows the n-th failed attempt. */
  retrySchedule: readonly number[];
  /** An endpoint failing this long is disabled. */
  disableAfterMs: number;
}

/** One attempt's answer and where its delivery stood before it. */
export interface AttemptFacts {
  /** The receiver's status code; null when there was no answer (timeout, refused, network). */
  statusCode: number | null;
  attemptedAt: Date;
  /** Attempts the delivery had made before this one. */
  attempts: number;
  /** The attempt count at which its current schedule began. */
  scheduleFrom: number;
}

export type AttemptDecision =
  | { status: "succeeded" }
  | { status: "failed" }
  | { status: "pending"; delaySeconds: number; nextAttemptAt: Date };

/** What changes on the endpoint's row after a round; undefined when nothing does. */
export interface EndpointChange {
  enabled?: false;
  disabledReason?: string;
  disabledAt?: Date;
  failingSince?: Date | null;
}

const isSuccess = (statusCode: number | null) => statusCode !== null && statusCode >= 200 && statusCode < 300;

/** The delay before retry number `step` (1-based), for a jitter draw in [0, 1): ±20 % of the step. */
const retryDelay = (schedule: readonly number[], step: number, draw: number) => schedule[step - 1]! * (0.8 + draw * 0.4);

/** What follows one attempt, ignoring the endpoint. `random` is drawn only for a retry. */
export function decideAttempt(a: AttemptFacts, schedule: readonly number[], random: () => number = Math.random): AttemptDecision {
  if (isSuccess(a.statusCode) || a.statusCode === 410) return { status: isSuccess(a.statusCode) ? "succeeded" : "failed" };
  const attemptsMade = a.attempts + 1 - a.scheduleFrom;
  if (attemptsMade > schedule.length) return { status: "failed" };
  const delaySeconds = retryDelay(schedule, attemptsMade, random());
  return { status: "pending", delaySeconds, nextAttemptAt: new Date(a.attemptedAt.getTime() + delaySeconds * 1000) };
}

/**
 * A round of attempts to one endpoint, in the order they are recorded: each one's decision, and the
 * endpoint's change. The endpoint's failing-since follows the attempts in order (a success clears it,
 * the first failure after sets it); a 410 disables (the last one's time is kept); otherwise the
 * endpoint is disabled when it has been failing for `disableAfterMs` at `now`.
 */
export function decideRound(
  endpoint: { failingSince: Date | null },
  attempts: readonly AttemptFacts[],
  settings: ScheduleSettings,
  now: () => Date,
  random: () => number = Math.random,
): { decisions: AttemptDecision[]; endpoint: EndpointChange | undefined } {
  let failingSince = endpoint.failingSince;
  let change: EndpointChange | undefined;
  const decisions = attempts.map((a) => {
    const decision = decideAttempt(a, settings.retrySchedule, random);
    if (isSuccess(a.statusCode)) failingSince = null;
    else if (a.statusCode === 410) change = { enabled: false, disabledReason: "the receiver answered 410 Gone", disabledAt: a.attemptedAt };
    else failingSince ??= a.attemptedAt;
    return decision;
  });
  if (!change) {
    const at = now();
    if (failingSince && at.getTime() - failingSince.getTime() >= settings.disableAfterMs)
      change = { enabled: false, disabledReason: `failing since ${failingSince.toISOString()}`, disabledAt: at, failingSince };
    else if ((failingSince?.getTime() ?? null) !== (endpoint.failingSince?.getTime() ?? null)) change = { failingSince };
  }
  return { decisions, endpoint: change };
}

/** Cloudflare Queues delays a message by at most 12 hours. */
const MAX_QUEUE_DELAY_SECONDS = 43_200;

/** A job's delay as the queue takes it: whole seconds, 0 to 12 hours. */
export const queueDelaySeconds = (delaySeconds: number) => Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));

/**
 * A busy endpoint that answers is usually free again in milliseconds (and its running rounds take
 * what is due meanwhile), its lease only the worst case; one that is struggling (timing out, likely)
 * is rechecked when its lease ends rather than polled. Never sooner than a second.
 */
const BUSY_RECHECK_SECONDS = 2;

export const busyRecheckSeconds = (leaseLeftSeconds: number, struggling: boolean) =>
  Math.max(1, struggling ? leaseLeftSeconds : Math.min(BUSY_RECHECK_SECONDS, leaseLeftSeconds));
