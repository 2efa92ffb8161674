/**
 * Least-recently-used memory bounded by bytes, not entries: the /search index keeps parts and
 * bodies whose sizes differ by orders of magnitude, so a count bound would say nothing about memory.
 * Sizes are the caller's estimate of what an entry holds. Values are shared: callers must not mutate.
 */
export class ByteLru<V> {
  readonly #entries = new Map<string, { value: V; size: number }>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  /** An entry larger than the whole budget is not kept (the caller still has it). */
  set(key: string, value: V, size: number): void {
    this.delete(key);
    if (size > this.maxBytes) return;
    for (const [oldest, e] of this.#entries) {
      if (this.#bytes + size <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= e.size;
    }
    this.#entries.set(key, { value, size });
    this.#bytes += size;
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#bytes -= e.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
