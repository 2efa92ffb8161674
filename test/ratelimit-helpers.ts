// The Workers Rate Limiting binding counts in fixed windows aligned to the clock (Miniflare's too), so a
// test that counts refusals against a small limit starts well inside a window: one that rolled over
// mid-test would hand out a second allowance and the test would measure two windows, not the limit.

/** Waits for the next 60 s window if fewer than `needMs` of the current one are left. */
export async function inOneBindingWindow(needMs = 10_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}

/** A rate limiting binding that cannot answer, as when the platform's limiter fails. */
export const failingBinding = { limit: async () => Promise.reject(new Error("rate limiting unavailable")) } as unknown as RateLimit;
