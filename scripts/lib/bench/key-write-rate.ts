// The most writes any one KV key received within one second: KV takes at most one write a second per
// key (docs: "Workers KV limits"), so a key written more often is a hot key the platform refuses.
// Fed by the bench's KV shim (kv-tally-worker/index.ts) with every put and delete on the app's KV
// binding, in one isolate; memory stays bounded by the keys written in the last second plus a capped
// list of the keys that broke the limit.

/** A window of 1,000 ms: two writes to one key less than a second apart break the limit. */
const WINDOW_MS = 1_000;
/** Keys that broke the limit, remembered by name at most this many (the rest only counted). */
const OFFENDERS_CAP = 1_000;
/** Keys not written in the last second are forgotten every this many writes. */
const SWEEP_EVERY = 1_000;

export interface KeyWriteSnapshot {
  /** Puts and deletes seen. */
  writes: number;
  /** The most writes one key received within any 1,000 ms window (0 without writes). */
  max_writes_1s: number;
  /** Keys that received more than one write within 1,000 ms at least once. */
  keys_over_1: number;
  /** True when more keys broke the limit than were remembered by name. */
  capped: boolean;
  /** The keys that broke the limit, most writes first (at most 5). */
  hottest: Array<{ key: string; max_writes_1s: number }>;
  /** The same keys grouped by shape (ids and hashes replaced), with how many keys of each. */
  by_shape: Record<string, { keys: number; max_writes_1s: number }>;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const HASH = /[0-9a-f]{32,}/gi;

/** A key with its ids and hashes replaced, so `sub:v1:id:<uuid>` groups every subscriber's key. */
export const keyShape = (key: string) => key.replace(UUID, "<uuid>").replace(HASH, "<hash>");

export class KeyWriteRate {
  #writes = 0;
  #max = 0;
  #sinceSweep = 0;
  #dropped = 0;
  /** Per key written in the last second: the times of those writes, oldest first. */
  #recent = new Map<string, number[]>();
  #offenders = new Map<string, number>();

  /** One write (put or delete) of `key` at `now` (ms). */
  note(key: string, now: number): void {
    this.#writes++;
    const times = (this.#recent.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    times.push(now);
    this.#recent.set(key, times);
    const n = times.length;
    if (n > this.#max) this.#max = n;
    if (n > 1) {
      const seen = this.#offenders.get(key);
      if (seen !== undefined) this.#offenders.set(key, Math.max(seen, n));
      else if (this.#offenders.size < OFFENDERS_CAP) this.#offenders.set(key, n);
      else if (n === 2) this.#dropped++;
    }
    if (++this.#sinceSweep >= SWEEP_EVERY) this.#sweep(now);
  }

  #sweep(now: number): void {
    this.#sinceSweep = 0;
    for (const [key, times] of this.#recent) if (times.at(-1)! <= now - WINDOW_MS) this.#recent.delete(key);
  }

  snapshot(): KeyWriteSnapshot {
    const offenders = [...this.#offenders].sort((a, b) => b[1] - a[1]);
    const byShape: KeyWriteSnapshot["by_shape"] = {};
    for (const [key, max] of offenders) {
      const shape = keyShape(key);
      const seen = byShape[shape];
      byShape[shape] = { keys: (seen?.keys ?? 0) + 1, max_writes_1s: Math.max(seen?.max_writes_1s ?? 0, max) };
    }
    return {
      writes: this.#writes,
      max_writes_1s: this.#max,
      keys_over_1: this.#offenders.size + this.#dropped,
      capped: this.#dropped > 0,
      hottest: offenders.slice(0, 5).map(([key, max]) => ({ key, max_writes_1s: max })),
      by_shape: byShape,
    };
  }

  /** Starts a new measurement; keys written in the last second stay, so a window spanning the reset still counts. */
  reset(): void {
    this.#writes = 0;
    this.#max = 0;
    this.#dropped = 0;
    this.#offenders.clear();
  }
}
