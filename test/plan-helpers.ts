// Shared by the plan tests (sync and listing, /search, provider faults, conformance).
// Rules: a plan test imports `it` from here, test/harness.ts's `it` with a healthy provider stand-in
// before each test and after the file, so it gets `db` and the keys the same way; a sync goes through
// the admin API with the `admin` key the helper is given as its first parameter.
import { env } from "cloudflare:workers";
import type { EventSummary, Plan, SyncReport } from "../src/plans/schema.ts";
import sample3 from "./fixtures/provider/sample_3.xml?raw";
import { it as harness } from "./harness.ts";
import type { ListBody } from "./helpers.ts";
import { appWith, bearer, call, providerFault, setProviderDocuments } from "./helpers.ts";

export type Event = EventSummary;
export type Report = SyncReport;
/** A sync's 200 envelope or its problem body (502/503). */
export type SyncBody = { data: Report; provider_failure?: string; detail?: string };
export type SearchBody = { data: { events: Event[] }; error: unknown };
export type { Plan };
export type PlanPage = ListBody<Plan>;

async function resetProvider(): Promise<void> {
  await providerFault("none");
  // Let an open breaker from an earlier fault test half-open again.
  await env.CACHE.delete("provider:breaker:v1");
}

export const it = harness
  /** A healthy provider stand-in before each test (set up before the test's first beforeEach hook)… */
  .extend("healthyProvider", { auto: true }, () => resetProvider())
  /** …and after the file. */
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from its first parameter, which must be a pattern
  .extend("providerAfterFile", { scope: "file", auto: true }, ({}, { onCleanup }) => {
    onCleanup(() => providerFault("none"));
  });

export const lastReport = async (admin: string): Promise<Report> =>
  ((await (await call("/v1/admin/plans/sync", { headers: bearer(admin) })).json()) as { data: Report }).data;

/** A sync through the app as configured for the suite, or with some of its vars overridden. */
export async function sync(
  admin: string,
  overrides?: Record<string, string>,
): Promise<{ status: number; body: SyncBody; headers: Headers }> {
  const init = { method: "POST", headers: bearer(admin) };
  const res = overrides ? await appWith(overrides)("/v1/admin/plans/sync", init) : await call("/v1/admin/plans/sync", init);
  return { status: res.status, body: await res.json<SyncBody>(), headers: res.headers };
}

export async function search(query: string): Promise<{ status: number; body: SearchBody; res: Response }> {
  const res = await call(`/search${query}`);
  return { status: res.status, body: await res.json<SearchBody>(), res };
}

export const ALL = "?starts_at=2000-01-01T00:00:00Z&ends_at=2100-01-01T00:00:00Z";
export const eventsOf = (body: { data: { events: Event[] } }, ids: string[]) => body.data.events.filter((e) => ids.includes(e.id));

/**
 * Makes sure the sample plan 503/900 ("Orquesta de Cámara", 2022-06-20 20:00–22:30) is stored, as
 * the /search and provider fault tests expect, whichever test files ran before. Only sample_3: the
 * state it leaves is one that plan-sync-and-listing.test.ts's first sync (sample_1) still changes
 * in full, so the files pass in any order. Call it from an it.beforeAll(({ admin }) => …).
 */
export async function syncSamplePlans(admin: string): Promise<void> {
  await resetProvider();
  await setProviderDocuments([sample3]);
  const { status, body } = await sync(admin);
  if (status !== 200 || !["ok", "unchanged", "not_modified"].includes(body.data.outcome)) {
    throw new Error(`sample plans not synced: ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}
