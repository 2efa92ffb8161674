/**
 * Which successful requests leave a trace, decided once per request before it runs. Errors are never
 * sampled out: a line or point that says something went wrong is worth more than its price, and a
 * weight of 1 keeps their counts exact. `random` is injectable so the decisions can be tested with a
 * seeded source; production passes Math.random.
 */

/** Whether a request's sampled lines (its successful ones) are written, at `rate` (0–1). */
export function keepLines(rate: number, random: () => number = Math.random): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return random() < rate;
}

/**
 * The weight of a request's Analytics Engine point, or 0 for none: a 4xx or 5xx is always written
 * with weight 1; a success is written with probability 1/interval and then stands for `interval`
 * requests, so the sum of weights is an unbiased estimate of the requests made.
 */
export function metricWeight(status: number, interval: number, random: () => number = Math.random): number {
  if (status >= 400 || interval <= 1) return 1;
  return random() < 1 / interval ? interval : 0;
}
