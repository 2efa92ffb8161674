// The fixed workload `npm run cost` measures: the app as deployed (scripts/lib/miniflare-app.ts) on
// the local stack, every log line it writes collected, and each operation's billable units read off
// those lines (src/lib/meter.ts), never typed in. Two instances share KV (as two locations share
// Workers KV) but neither isolate memory nor the Cache API, so the second one's first reads are
// answered by KV.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import type { Scope } from "../../../src/auth/principal.ts";
import { DEVELOPMENT_SIGNING_SECRET } from "../../../src/config/schema.ts";
import { newUnits } from "../../../src/lib/meter.ts";
import { createSignedApiKey } from "../api-keys.ts";
import type { AppInstance } from "../miniflare-app.ts";
import { cacheKv } from "../miniflare-app.ts";
import { startLocalStack } from "../stack.ts";
import type { Measurement } from "./bill.ts";
import { average, classifyRead, per, productionSampling, sumOf } from "./lines.ts";

const DIR = ".data/cost";
const N = 200;
const ORIGIN = "http://cost.test";
const UNITS = Object.keys(newUnits());
type Line = Record<string, unknown> & { phase: string };
/** What the workload reads of an answer: a write's operation. */
type Body = { data?: { subscriber_id?: string | null } } | null;

export async function measure(say: (m: string) => void): Promise<Measurement> {
  const rateLimit = { limit: 1_000_000, periodSeconds: 60 };
  const stack = await startLocalStack({
    database: "cost",
    stateDir: DIR,
    recreateDatabase: true,
    relay: { ownProcess: true },
    miniflare: {
      outDir: `${DIR}/dist`,
      // Every line kept (production samples them: applied from wrangler.toml when pricing).
      bindings: {
        LOG_LEVEL: "info",
        LOG_SAMPLE_RATE: "1",
        METRICS_SAMPLE_INTERVAL: "1",
        // The Cache API level as in production (the local stack turns it off for its tests' coherence).
        CACHE_API_READS: "on",
        CACHE_SETTLE_SECONDS: "1",
        PUBLIC_IP_RATE_LIMIT: "100000000",
      },
    },
    log: (m) => say(m.replace(/:[^:@/]+@/, ":***@")),
    onStopError: () => {},
  });
  // Keys as production mints them: signed (src/auth/signed-keys.ts), verified without storage.
  const mint = (name: string, scopes: Scope[]) =>
    createSignedApiKey(stack.databaseUrl, DEVELOPMENT_SIGNING_SECRET, true, { name, scopes, rateLimit }).then((k) => k.key);
  const adminKey = await mint("cost-admin", ["admin"]);
  const writeKey = await mint("cost-writer", ["subscribers:write", "subscribers:read", "subscribers:erase"]);
  const lines: Line[] = [];
  let phase = "setup";
  const onLog = (message: string) => {
    for (const raw of message.split("\n")) {
      if (!raw.startsWith("{")) continue;
      try {
        lines.push({ ...(JSON.parse(raw) as Record<string, unknown>), phase });
      } catch {
        // Not one of the app's lines.
      }
    }
  };
  const persistTo = join(DIR, "state");
  rmSync(persistTo, { recursive: true, force: true });
  const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
  try {
    let app: AppInstance = await stack.apps.start({ onLog, persistTo });
    // One origin for every instance: the Cache API keys its entries by the request's origin.
    const call = (method: string, path: string, body?: unknown, key = writeKey, headers: Record<string, string> = {}) =>
      app.mf
        .dispatchFetch(new URL(path, ORIGIN), {
          method,
          headers: { Authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
        .then(async (r) => ({ status: r.status, body: (await r.json().catch(() => null)) as Body }));
    const each = async <T>(items: T[], fn: (t: T, i: number) => Promise<unknown>, parallel = 8) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < items.length) {
            const i = next++;
            await fn(items[i]!, i);
          }
        }),
      );
    };
    const expect = (what: string, status: number, ok: number[]) => {
      if (!ok.includes(status)) throw new Error(`${what} answered ${status}`);
    };
    const applied = async (ops: number) => {
      for (let i = 0; i < 600; i++) {
        const { rows } = await pool.query<{ n: string }>("select count(*)::text as n from operations");
        if (Number(rows[0]!.n) >= ops) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the consumer did not apply ${ops} operations in 60 s`);
    };

    phase = "warmup";
    expect("plan sync", (await call("POST", "/v1/admin/plans/sync", undefined, adminKey)).status, [200, 202]);
    for (let i = 0; i < 3; i++) await call("GET", `/v1/subscribers/${crypto.randomUUID()}`);
    const run = crypto.randomUUID().slice(0, 8);
    const people = Array.from({ length: N }, (_, i) => ({ email: `cost-${run}-${i}@example.com`, name: "Ada", last_name: "Cost" }));
    const ids: string[] = [];
    let accepted = 0;
    const write = (kind: string) => async (res: { status: number; body: Body }) => {
      expect(kind, res.status, [202]);
      accepted++;
      return res.body;
    };

    phase = "write_create";
    await each(people, async (p, i) => {
      const body = await write("create")(await call("POST", "/v1/subscribers", p, writeKey, { "Idempotency-Key": `c-${run}-${i}` }));
      ids[i] = body?.data?.subscriber_id ?? "";
    });
    await applied(accepted);
    const refs = ids.map((id, i) => (i % 2 === 0 ? id : people[i]!.email));
    // Whatever the consumer left in KV goes, so that the first reads are real misses (Postgres, then a fill).
    await dropSubscriberCopies(app);
    const read = (list: string[]) =>
      each(list, async (ref) => expect("read", (await call("GET", `/v1/subscribers/${encodeURIComponent(ref)}`)).status, [200]));
    phase = "read";
    await read(refs);
    await read(refs);
    phase = "write_update";
    await each(refs.slice(0, N / 2), async (ref, i) => {
      await write("update")(
        await call("PATCH", `/v1/subscribers/${encodeURIComponent(ref)}`, { name: "Grace" }, writeKey, {
          "Idempotency-Key": `u-${run}-${i}`,
        }),
      );
    });
    phase = "write_delete";
    await each(refs.slice(N / 2, N / 2 + N / 10), async (ref, i) => {
      await write("delete")(
        await call("DELETE", `/v1/subscribers/${encodeURIComponent(ref)}`, undefined, writeKey, { "Idempotency-Key": `d-${run}-${i}` }),
      );
    });
    phase = "write_forget";
    await each(refs.slice(N - N / 20), async (ref, i) => {
      await write("forget")(
        await call("POST", `/v1/subscribers/${encodeURIComponent(ref)}/forget`, undefined, writeKey, {
          "Idempotency-Key": `f-${run}-${i}`,
        }),
      );
    });
    await applied(accepted);
    phase = "search_warm";
    const search = "/search?starts_at=2021-01-01T00:00:00Z&ends_at=2021-12-31T23:59:59Z";
    await call("GET", search);
    await each(Array.from({ length: 400 }), async () => expect("search", (await call("GET", search)).status, [200]));
    phase = "periodic";
    const started = Date.now();
    while (Date.now() - started < 30_000) {
      await call("GET", search);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const periodicMinutes = (Date.now() - started) / 60_000;
    phase = "cron";
    const worker = await app.mf.getWorker();
    await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
    // The settle messages, then the last lines of the batches.
    await new Promise((r) => setTimeout(r, 4_000));
    phase = "done";
    await app.mf.dispose();

    // Another location: the same KV, an empty Cache API and empty isolate memory.
    rmSync(join(persistTo, "cache"), { recursive: true, force: true });
    app = await stack.apps.start({ onLog, persistTo });
    const kept = refs.slice(0, N / 2);
    phase = "read";
    await read(kept);
    await app.mf.dispose();
    // A fresh isolate of that location, within the 5 s a Cache API copy is served: that level's reads.
    app = await stack.apps.start({ onLog, persistTo });
    await read(kept);
    await read(kept);
    phase = "done";
    await app.mf.dispose();

    // Every line the workload's invocations wrote, for inspection (what the figures are averages of).
    writeFileSync(join(DIR, "lines.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
    const http = (p: string) => lines.filter((l) => l.phase === p && l.event === "http_request");
    const reads = http("read");
    const ops: Partial<Measurement["operations"]> = {};
    for (const tier of ["read_memory", "read_cache_api", "read_kv", "read_miss"] as const) {
      ops[tier] = average(
        reads.filter((l) => classifyRead(l) === tier),
        UNITS,
        1,
      );
    }
    for (const op of ["read_memory", "read_kv", "read_miss"] as const) {
      if (ops[op]!.samples === 0) throw new Error(`the workload produced no ${op}: its units would be missing from the bill`);
    }
    for (const w of ["write_create", "write_update", "write_delete", "write_forget", "search_warm"] as const)
      ops[w] = average(http(w), UNITS, 1);
    const batches = lines.filter((l) => l.event === "queue_batch" && String(l.queue ?? "").startsWith("subscriber-writes"));
    ops.consumer_per_write = { ...per(sumOf(batches, UNITS), accepted), invocations: batches.length / accepted, samples: batches.length };
    const cron = lines.filter((l) => l.phase === "cron" && l.event === "cron_run");
    const periodic = http("periodic");
    return {
      measured_at: new Date().toISOString(),
      command: "npm run cost",
      operations: ops as Measurement["operations"],
      periodic_kv_reads_per_isolate_minute: periodic.reduce((s, l) => s + Number(l.kv_reads ?? 0), 0) / periodicMinutes,
      cron_minute: { ...sumOf(cron, UNITS), invocations: 1, samples: cron.length },
      sampling: productionSampling(),
    };
  } finally {
    await pool.end().catch(() => {});
    await stack.stop();
  }
}

async function dropSubscriberCopies(app: AppInstance): Promise<void> {
  const kv = await cacheKv(app);
  for (const prefix of ["sub:v1:id:", "sub:v2:email:"]) {
    let cursor: string | undefined;
    do {
      const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
      await Promise.all(page.keys.map((k) => kv.delete(k.name)));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
}
