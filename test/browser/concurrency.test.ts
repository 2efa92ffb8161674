import { describe, expect, inject, it } from "vitest";

// Over real HTTP (wrangler dev), where every request has its own context in workerd, unlike the
// workerd test pool. Shared per-isolate state (the key lookup's single flight, the rate limiter's
// token leases) must hold up under concurrency: no 5xx, no refusals.
const baseUrl = inject("baseUrl");
const adminKey = inject("adminKey");

async function statuses(n: number, concurrency: number, request: () => Promise<Response>): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  let started = 0;
  const worker = async () => {
    while (started++ < n) {
      const res = await request();
      await res.arrayBuffer();
      counts[res.status] = (counts[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

describe.skipIf(!baseUrl)("concurrent requests over HTTP", () => {
  it("a burst of first uses of a new key, then a busy key on token leases: every answer is a 200", async () => {
    const created = await fetch(`${baseUrl}/v1/admin/api-keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${adminKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "concurrency", scopes: ["subscribers:read"], rate_limit: { limit: 1_000_000, period_seconds: 60 } }),
    });
    expect(created.status).toBe(201);
    const { data } = (await created.json()) as { data: { key: string } };
    const get = () => fetch(`${baseUrl}/v1/stats`, { headers: { Authorization: `Bearer ${data.key}` } });
    // All 64 start before any lookup finished: they share one database lookup per isolate.
    expect(await statuses(64, 64, get)).toEqual({ 200: 64 });
    // Enough requests for the lease to grow and be refilled while others are in flight.
    expect(await statuses(1_500, 32, get)).toEqual({ 200: 1_500 });
  });
});
