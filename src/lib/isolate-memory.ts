/**
 * The registry of isolate memory. Workers reuse an isolate for many requests, so module state
 * outlives a request; each owner keeps its own memory beside the code that reads it and registers
 * here how to forget it, so a test can put every owner back to what a fresh isolate holds.
 *
 * Rules for every registered memory: it is bounded, it holds plain data (never a promise that another
 * request would await), and it is never a source of truth, only a saved round trip.
 */
const forgetters = new Set<() => void>();

/** Registers how to forget one owner's memory; returns the argument so owners can write it inline. */
export function inIsolateMemory<T>(memory: T, forget: (memory: T) => void): T {
  forgetters.add(() => forget(memory));
  return memory;
}

/** Forgets everything registered, as a fresh isolate would have nothing: what tests use. */
export function resetIsolateMemory(): void {
  for (const forget of forgetters) forget();
}
