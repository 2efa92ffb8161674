import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { Status } from "../src/status/schema.ts";
import { bearer, call, postJson, providerFault, uniqueDomain, waitFor } from "./helpers.ts";
import { it, sync, syncSamplePlans } from "./plan-helpers.ts";
import { subscriberMessage } from "./queue-helpers.ts";
import { waitForOperations } from "./subscriber-helpers.ts";

/** The scripted workload: creates, a duplicate, a poison write (a failed outcome and a dead letter), a good and a failed plan sync. */
async function workload(db: DbHandle, writer: string, admin: string): Promise<void> {
  const domain = uniqueDomain();
  const ops: string[] = [];
  for (const email of [`a@${domain}`, `b@${domain}`, `c@${domain}`, `A@${domain}`]) {
    const res = await postJson("/v1/subscribers", { email, name: "Ada", last_name: "Lovelace" }, bearer(writer));
    expect(res.status).toBe(202);
    ops.push((await res.json<{ data: { id: string } }>()).data.id);
  }
  const poison = subscriberMessage(`poison@${domain}`, { name: "Mallory\u0000" });
  await env.SUBSCRIBER_QUEUE.send(poison, { contentType: "json" });
  await waitForOperations(db, [...ops, poison.operation_id]);
  await waitFor(
    async () =>
      (await db.db.execute<{ n: number }>(sql`select count(*)::int as n from dead_letters where body like ${`%${poison.operation_id}%`}`))
        .rows[0]?.n,
    20_000,
    "the poison write's dead letter",
  );
  // sample_3 only: the state every plan test file can start from (see syncSamplePlans).
  await syncSamplePlans(admin);
  await providerFault("503");
  expect((await sync(admin)).status).toBeGreaterThanOrEqual(500);
  await providerFault("none");
}

const scalar = (rows: Array<Record<string, unknown>>) => Number(Object.values(rows[0] ?? {})[0] ?? 0);
const byLabel = (rows: Array<Record<string, unknown>>) => Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));

describe("GET /v1/admin/metrics and /v1/admin/status after a scripted workload", () => {
  it("OpenMetrics text that a Prometheus parser reads, with the values Postgres holds", { timeout: 90_000 }, async ({
    db,
    admin,
    writer,
  }) => {
    await workload(db, writer, admin);
    // As Prometheus asks; without Accept the same lines come as Prometheus text (text/plain).
    const plain = await call("/v1/admin/metrics", { headers: bearer(admin) });
    expect(plain.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    await plain.arrayBuffer();
    const res = await call("/v1/admin/metrics", {
      headers: { ...bearer(admin), Accept: "application/openmetrics-text; version=1.0.0, text/plain; q=0.5" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    // Not res.text(): workerd warns on a text/* body it does not recognise as text.
    const text = new TextDecoder().decode(await res.arrayBuffer());
    expect(text.endsWith("# EOF\n")).toBe(true);
    const families = parsePrometheusTextFormat(text);
    const family = (name: string) => {
      const f = families.find((x) => x.name === name);
      if (!f) throw new Error(`no family ${name}`);
      return f;
    };
    const values = (name: string, label: string) =>
      Object.fromEntries(family(name).metrics.map((m) => [m.labels?.[label] ?? "", Number(m.value)]));
    const q = async (query: ReturnType<typeof sql>) => (await db.db.execute(query)).rows as Array<Record<string, unknown>>;

    expect(Number(family("edge_api_dead_letters_waiting").metrics[0]!.value)).toBe(
      scalar(await q(sql`select count(*)::int from dead_letters where replayed_at is null`)),
    );
    const ops = byLabel(await q(sql`select status as k, count(*)::int as n from operations group by 1`));
    expect(values("edge_api_operations", "outcome")).toEqual({
      succeeded: ops.succeeded ?? 0,
      failed: ops.failed ?? 0,
      superseded: ops.superseded ?? 0,
    });
    expect(ops.failed).toBeGreaterThan(0);
    // OpenMetrics counters: the parser reads TYPE … counter, and the samples under their _total name.
    expect(family("edge_api_plan_sync_runs").type).toBe("COUNTER");
    const runs = byLabel(await q(sql`select outcome as k, count(*)::int as n from plan_sync_runs group by 1`));
    const runSamples = values("edge_api_plan_sync_runs_total", "outcome");
    for (const [outcome, n] of Object.entries(runs)) expect(runSamples[outcome]).toBe(n);
    expect(runSamples.failed).toBeGreaterThan(0);
    const subs = byLabel(await q(sql`select status::text as k, count(*)::int as n from subscribers group by 1`));
    const subSamples = values("edge_api_subscribers", "status");
    for (const [status, n] of Object.entries(subs)) expect(subSamples[status]).toBe(n);
    const deliveries = byLabel(await q(sql`select status as k, count(*)::int as n from webhook_deliveries group by 1`));
    const deliverySamples = values("edge_api_webhook_deliveries", "status");
    for (const [status, n] of Object.entries(deliveries)) expect(deliverySamples[status]).toBe(n);
    expect(values("edge_api_webhook_endpoints", "state").disabled).toBe(
      scalar(await q(sql`select count(*)::int from webhook_endpoints where not enabled`)),
    );
    // The last good sync ran moments ago.
    const age = Number(family("edge_api_plan_sync_age_seconds").metrics[0]!.value);
    const lastGood = scalar(
      await q(
        sql`select extract(epoch from now() - max(finished_at))::float8 from plan_sync_runs where outcome in ('ok','unchanged','not_modified')`,
      ),
    );
    expect(Math.abs(age - lastGood)).toBeLessThan(5);
    // Lag quantiles over the last 5 minutes: the workload's writes completed within them.
    const lag = values("edge_api_write_lag_seconds", "quantile");
    const [p50, p99] = (
      await q(sql`select percentile_cont(0.5) within group (order by x) as a, percentile_cont(0.99) within group (order by x) as b from (
        select (extract(epoch from completed_at) * 1000 - ('x' || substr(id::text, 1, 8) || substr(id::text, 10, 4))::bit(48)::bigint) / 1000.0 as x
        from operations where completed_at >= now() - interval '5 minutes') o`)
    ).map((r) => [Number(r.a), Number(r.b)])[0]!;
    expect(lag["0.5"]).toBeCloseTo(p50!, 0);
    expect(lag["0.99"]).toBeCloseTo(p99!, 0);
    expect(Number(family("edge_api_provider_breaker_state").metrics[0]!.value)).toBeGreaterThanOrEqual(0);
    // Histograms: typed as such; this parser folds labelled histograms into one, so the per-group
    // sample lines are checked against the rollups too.
    expect(family("edge_api_request_duration_seconds").type).toBe("HISTOGRAM");
    const totals = byLabel(await q(sql`select route_group as k, sum(count)::int as n from request_rollups group by 1`));
    for (const group of ["health", "subscribers", "admin"]) {
      const count = text.match(new RegExp(`^edge_api_request_duration_seconds_count\\{group="${group}"\\} (\\S+)$`, "m"))?.[1];
      const inf = text.match(new RegExp(`^edge_api_request_duration_seconds_bucket\\{group="${group}",le="\\+Inf"\\} (\\S+)$`, "m"))?.[1];
      expect(Number(count)).toBe(totals[group] ?? 0);
      expect(inf).toBe(count);
    }
  });

  it("the status document: every section filled from the same tables", async ({ admin, writer }) => {
    const res = await call("/v1/admin/status?window=hour", { headers: bearer(admin) });
    expect(res.status).toBe(200);
    const status = Status.parse((await res.json<{ data: unknown }>()).data);
    expect(status.step_seconds).toBe(60);
    expect(status.writes.t).toHaveLength(60);
    expect(status.writes.accepted.reduce((a, b) => a! + (b ?? 0), 0)).toBeGreaterThan(0);
    expect(status.writes.failed.some((v) => (v ?? 0) > 0)).toBe(true);
    expect(status.writes.lag_p99_s.some((v) => v !== null)).toBe(true);
    expect(status.writes.dead_letters_waiting).toBeGreaterThan(0);
    expect(status.plans.syncs.some((s) => s.outcome === "failed")).toBe(true);
    expect(status.plans.syncs.some((s) => s.outcome === "ok" || s.outcome === "unchanged" || s.outcome === "not_modified")).toBe(true);
    expect(status.plans.seconds_since_last_good_sync).not.toBeNull();
    expect(status.plans.search_index.generation).toMatch(/^[0-9a-f-]{36}$/);
    expect(status.subscribers.days).toHaveLength(7);
    expect(status.subscribers.created_per_day.at(-1)).toBeGreaterThan(0);
    expect(Object.keys(status.subscribers.by_status).sort()).toEqual(["active", "bounced", "junk", "unconfirmed", "unsubscribed"]);
    expect(status.requests.groups.map((g) => g.group)).toContain("subscribers");
    expect(status.webhooks.t).toHaveLength(60);

    const week = await call("/v1/admin/status?window=week", { headers: bearer(admin) });
    expect(((await week.json()) as { data: { step_seconds: number } }).data.step_seconds).toBe(3_600);
    expect((await call("/v1/admin/status?window=year", { headers: bearer(admin) })).status).toBe(422);
    expect((await call("/v1/admin/status")).status).toBe(404);
    expect((await call("/v1/admin/metrics", { headers: bearer(writer) })).status).toBe(403);
  });
});
