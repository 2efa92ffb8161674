// Seed-scale data for `npm run bench -- --scale`: subscribers and historical plans written with
// set-based INSERT … SELECT generate_series, so any trigger on the tables fires as it would for the
// app's own writes. Every value is a deterministic function of the row number, so a database grown
// from 10k to 1M rows holds exactly what one seeded straight to 1M would.
import type pg from "pg";

/**
 * One size of the scale bench. Subscribers' created_at are spread over the same eight years at every
 * size, so a bigger size is a denser sample of the same history, not a longer one.
 */
export interface ScaleSize {
  name: string;
  subscribers: number;
  plans: number;
}

export const SCALE_SIZES: ScaleSize[] = [
  { name: "10k", subscribers: 10_000, plans: 5_000 },
  { name: "1m", subscribers: 1_000_000, plans: 100_000 },
  { name: "10m", subscribers: 10_000_000, plans: 1_000_000 },
];

/** Historical base_plan_ids start here, far from any generated document's (500000…). */
const HISTORY_BASE_OFFSET = 2_000_000;
const PLANS_PER_BASE = 10;
/** Rows per INSERT: big enough to be set-based, small enough to show progress and keep WAL bounded. */
const SUBSCRIBER_CHUNK = 500_000;
const PLAN_CHUNK = 100_000;

/**
 * The seed's own helpers and bookkeeping, in a schema of their own so the app's schema (public, from
 * migrations/) holds nothing the migrations did not create. uuid-ossp gives plans the same UUIDv5
 * ids src/plans/model.ts computes for (base_plan_id, plan_id).
 */
const HELPERS = `
create schema if not exists bench_scale;
create extension if not exists "uuid-ossp" with schema bench_scale;
create table if not exists bench_scale.seeded (kind text primary key, n bigint not null);
-- Secondary indexes dropped for a bulk load, kept here until they are built again (even across a crash).
create table if not exists bench_scale.dropped_indexes (name text primary key, definition text not null);
-- Uniform in [0, 1), a pure function of (n, salt).
create or replace function bench_scale.rnd(n bigint, salt text) returns double precision
  language sql immutable parallel safe
  as $$ select ('x' || substr(md5(n::text || salt), 1, 12))::bit(48)::bigint / 281474976710656.0 $$;
-- A UUIDv7 whose time is 'at', as the edge mints for ids and operation ids, random bits from (n, salt).
-- No FROM clause, so Postgres inlines it (a call per row costs several times the expression).
create or replace function bench_scale.uuid7(at timestamptz, n bigint, salt text) returns uuid
  language sql immutable parallel safe
  as $$ select (lpad(to_hex(floor(extract(epoch from at) * 1000)::bigint), 12, '0') || '7' || substr(md5(n::text || salt), 1, 3)
                || substr('89ab', 1 + get_byte(decode(substr(md5(n::text || salt), 4, 2), 'hex'), 0) % 4, 1)
                || substr(md5(n::text || salt), 6, 15))::uuid $$;
`;

/** The namespace src/plans/model.ts derives plan ids under. */
const PLAN_NAMESPACE = "6f1c8a52-3d4e-4b7a-9c2f-1e5d7a9b0c3d";

/**
 * Subscribers [lo, hi) (each level ends with OFFSET 0 so Postgres computes its columns once instead
 * of copying their expressions into every use above): statuses about 70 % active, 15 % unsubscribed, 8 % unconfirmed, 5 % bounced,
 * 2 % junk; created over 2018-11 … 2026-11; 60 % of the active and unconfirmed never changed
 * (version 1), the rest changed 1–5 times since, with field_ops naming the operations (UUIDv7 at
 * those instants) the consumer would have recorded. Inserted in created_at order per chunk, as an
 * append-mostly table would have received them.
 */
const INSERT_SUBSCRIBERS = `
insert into subscribers (id, email, name, last_name, status, created_at, updated_at, unsubscribed_at, version, field_ops)
select bench_scale.uuid7(created_at, n, 'id'),
       's' || n || '@' || (array['example.com', 'example.org', 'example.net', 'mail.example.com'])[1 + n % 4],
       (array['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'])[1 + n % 8],
       (array['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson'])[1 + (n / 8) % 8],
       status::subscriber_status, created_at, updated_at,
       case when status = 'unsubscribed' then updated_at end,
       version,
       jsonb_build_object('name', op, 'last_name', op, 'status', case when version = 1 then op else bench_scale.uuid7(updated_at, n, 'up') end)
from (
  select n, created_at, status, version, bench_scale.uuid7(created_at, n, 'op') as op,
         case when version = 1 then created_at
              else date_trunc('milliseconds', created_at + bench_scale.rnd(n, 'u') * (timestamptz '2026-11-01' - created_at)) end as updated_at
  from (
    select n, created_at, status,
           case when status in ('active', 'unconfirmed') and bench_scale.rnd(n, 'v') < 0.6 then 1
                else 2 + floor(bench_scale.rnd(n, 'w') * 5)::int end as version
    from (
      select n,
             date_trunc('milliseconds', timestamptz '2018-11-01' + bench_scale.rnd(n, 'c') * interval '8 years') as created_at,
             case when r < 0.70 then 'active' when r < 0.85 then 'unsubscribed' when r < 0.93 then 'unconfirmed'
                  when r < 0.98 then 'bounced' else 'junk' end as status
      from (select n, bench_scale.rnd(n, 's') as r from generate_series($1::bigint, $2::bigint - 1) as n offset 0) as g
      offset 0
    ) as a
    offset 0
  ) as b
  offset 0
) as c
order by created_at`;

/**
 * Historical plans [lo, hi) and their base plans, 10 plans per base plan: starts over 2012-01 …
 * 2021-11 (before the generated document's 2022, so /search over 2022 answers the same at every
 * size), 1–8 zones each; one base plan in 20 was never online, one more is offline now but was
 * online once. Only plans whose base plan was ever online are searchable, as the ingest stores them.
 */
const INSERT_BASE_PLANS = `
insert into base_plans (base_plan_id, title, sell_mode, organizer_company_id, ever_online, first_seen_at, last_seen_at)
select (${HISTORY_BASE_OFFSET} + b)::text, 'Archive show ' || b,
       case when b % 20 >= 18 then 'offline' else 'online' end, (b % 37)::text, b % 20 <> 19,
       timestamptz '2011-10-01' + bench_scale.rnd(b, 'bf') * interval '10 years', timestamptz '2021-12-01'
from generate_series($1::bigint / ${PLANS_PER_BASE}, ($2::bigint - 1) / ${PLANS_PER_BASE}) as b
on conflict (base_plan_id) do nothing`;

const PLAN_ROWS = `
  select k, (${HISTORY_BASE_OFFSET} + k / ${PLANS_PER_BASE})::text as base_plan_id, (k % 1000)::text as plan_id,
         bench_scale.uuid_generate_v5('${PLAN_NAMESPACE}'::uuid, (${HISTORY_BASE_OFFSET} + k / ${PLANS_PER_BASE})::text || ':' || (k % 1000)::text) as id,
         1 + (k % 8)::int as zone_count
  from generate_series($1::bigint, $2::bigint - 1) as k`;

const INSERT_PLANS = `
insert into plans (id, base_plan_id, plan_id, starts_at, ends_at, sell_from, sell_to, sold_out, ever_online,
                   min_price, max_price, zone_count, content_hash, first_seen_at, last_seen_at, updated_at)
select p.id, p.base_plan_id, p.plan_id, s.starts_at, s.starts_at + (1 + p.k % 4) * interval '1 hour',
       s.starts_at - interval '60 days', s.starts_at - interval '1 hour', bench_scale.rnd(p.k, 'so') < 0.3,
       (p.k / ${PLANS_PER_BASE}) % 20 <> 19, z.min_price, z.max_price, p.zone_count, md5(p.k::text || ':history'),
       s.starts_at - interval '90 days', s.starts_at - interval '1 day', s.starts_at - interval '1 day'
from (${PLAN_ROWS}) as p
cross join lateral (select date_trunc('hour', timestamp '2012-01-01' + bench_scale.rnd(p.k, 'ps') * interval '3590 days') as starts_at) as s
cross join lateral (
  select min(10 + (p.k * 7 + pos * 13) % 90)::numeric as min_price, max(10 + (p.k * 7 + pos * 13) % 90)::numeric as max_price
  from generate_series(0, p.zone_count - 1) as pos
) as z
order by s.starts_at`;

const INSERT_ZONES = `
insert into zones (plan_id, position, zone_id, name, capacity, price, numbered)
select p.id, pos, (pos % 50)::text, 'Zone ' || pos, ((p.k + pos) % 300)::int, (10 + (p.k * 7 + pos * 13) % 90)::numeric, pos % 2 = 0
from (${PLAN_ROWS}) as p
cross join lateral generate_series(0, p.zone_count - 1) as pos`;

export interface SeedReport {
  subscribers: { before: number; after: number; ms: number };
  plans: { before: number; after: number; ms: number };
  vacuum_analyze_ms: number;
}

async function seeded(client: pg.ClientBase, kind: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>("select n from bench_scale.seeded where kind = $1", [kind]);
  return rows[0] ? Number(rows[0].n) : 0;
}

/**
 * Drops the tables' secondary indexes (not constraints) for a bulk load, saving their definitions:
 * one sorted build afterwards is far cheaper than millions of inserts at random places in each.
 */
async function dropIndexes(client: pg.ClientBase, tables: string[]): Promise<void> {
  const { rows } = await client.query<{ indexname: string; indexdef: string }>(
    `select i.indexname, i.indexdef from pg_indexes i
     where i.schemaname = 'public' and i.tablename = any($1::text[])
       and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`,
    [tables],
  );
  for (const r of rows) {
    await client.query("begin");
    await client.query("insert into bench_scale.dropped_indexes (name, definition) values ($1, $2) on conflict do nothing", [
      r.indexname,
      r.indexdef,
    ]);
    await client.query(`drop index "${r.indexname}"`);
    await client.query("commit");
  }
}

/** Builds every index dropIndexes dropped (also those of a run that stopped half-way: every grow() ends here). */
async function restoreIndexes(client: pg.ClientBase, log: (m: string) => void): Promise<void> {
  const { rows } = await client.query<{ name: string; definition: string }>("select name, definition from bench_scale.dropped_indexes");
  for (const r of rows) {
    const t = performance.now();
    await client.query(r.definition);
    await client.query("delete from bench_scale.dropped_indexes where name = $1", [r.name]);
    log(`  index ${r.name} built in ${Math.round(performance.now() - t)} ms`);
  }
}

/** Inserts [done, target) in chunks, each chunk and its bookkeeping in one transaction. */
async function grow(
  client: pg.ClientBase,
  kind: string,
  target: number,
  chunk: number,
  statements: string[],
  tables: string[],
  log: (m: string) => void,
): Promise<{ before: number; after: number; ms: number }> {
  const before = await seeded(client, kind);
  const started = performance.now();
  // More new rows than old: cheaper to build the indexes again than to maintain them row by row.
  if (target - before > before) await dropIndexes(client, tables);
  for (let lo = before; lo < target; lo += chunk) {
    const hi = Math.min(target, lo + chunk);
    const t = performance.now();
    await client.query("begin");
    try {
      for (const sql of statements) await client.query(sql, [lo, hi]);
      await client.query("insert into bench_scale.seeded (kind, n) values ($1, $2) on conflict (kind) do update set n = excluded.n", [
        kind,
        hi,
      ]);
      await client.query("commit");
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    }
    log(`  ${kind} ${lo.toLocaleString("en-US")} → ${hi.toLocaleString("en-US")} in ${Math.round(performance.now() - t)} ms`);
  }
  await restoreIndexes(client, log);
  return { before, after: Math.max(before, target), ms: Math.round(performance.now() - started) };
}

/**
 * Grows the database behind `client` to `size` (never shrinks it: a bigger database is refused by
 * the caller), then VACUUM ANALYZE so the planner and the visibility map see the new rows.
 */
export async function seedToSize(client: pg.ClientBase, size: ScaleSize, log: (m: string) => void): Promise<SeedReport> {
  await client.query(HELPERS);
  // A bulk load, not the steady state: no checkpoint every few hundred MB while it runs.
  await client.query("set synchronous_commit = off");
  await client.query("set maintenance_work_mem = '1GB'");
  const subs = await grow(client, "subscribers", size.subscribers, SUBSCRIBER_CHUNK, [INSERT_SUBSCRIBERS], ["subscribers"], log);
  const plans = await grow(
    client,
    "plans",
    size.plans,
    PLAN_CHUNK,
    [INSERT_BASE_PLANS, INSERT_PLANS, INSERT_ZONES],
    ["base_plans", "plans", "zones"],
    log,
  );
  let vacuumMs = 0;
  if (subs.after !== subs.before || plans.after !== plans.before) {
    const t = performance.now();
    await client.query("vacuum (analyze) subscribers, base_plans, plans, zones");
    vacuumMs = Math.round(performance.now() - t);
    log(`  vacuum analyze in ${vacuumMs} ms`);
  }
  return { subscribers: subs, plans, vacuum_analyze_ms: vacuumMs };
}
