// Mixed subscriber traffic for the reliability suite: creates, PATCHes and DELETEs through the real
// HTTP API, and changes sent straight to the queue (late, out of order, or twice), each accepted one
// recorded as the model's input (lifecycle-model.ts). Then the check of the final state against it.
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import type { DbHandle } from "../../src/db/client.ts";
import { subscriberEvents } from "../../src/db/schema.ts";
import type { SubscriberWriteMessage } from "../../src/subscribers/messages.ts";
import type { OperationBody } from "../helpers.ts";
import { bearer, call, postJson } from "../helpers.ts";
import { operationsOf, storedIn, waitForOperations } from "../queue-helpers.ts";
import type { AcceptedChange, Difference, EventRow, OutcomeRow } from "./lifecycle-model.ts";
import { applyInOrder, differences, historyProblems } from "./lifecycle-model.ts";

type Create = Extract<AcceptedChange, { kind: "subscriber.create" }>;
type Update = Extract<AcceptedChange, { kind: "subscriber.update" }>;

/** A small seeded generator, so a run's choices can be repeated from the seed it reports. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(items: readonly T[]) => items[int(items.length)]!,
    chance: (p: number) => next() < p,
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
  };
}
export type Random = ReturnType<typeof random>;

/** The message the edge would have enqueued for this change (its redelivery is the same message again). */
function messageOf(c: AcceptedChange): SubscriberWriteMessage {
  const base = { v: 1 as const, operation_id: c.op, requested_at: new Date().toISOString() };
  if (c.kind === "subscriber.create")
    return {
      type: c.kind,
      ...base,
      subscriber: { id: c.id, email: c.email, name: c.name, last_name: c.last_name, status: c.status },
    };
  if (c.kind === "subscriber.update") return { type: c.kind, ...base, subscriber_id: c.id, changes: c.changes };
  return { type: c.kind, ...base, subscriber_id: c.id };
}

/** Sends requests, counts every response status by method, and records each accepted change. */
export class Traffic {
  readonly accepted: AcceptedChange[] = [];
  readonly statuses: Record<string, number> = {};
  /** Sent straight to the queue, by what they were: stale changes and redeliveries. */
  readonly direct: Record<string, number> = {};
  /** 503s (with Retry-After) answered to a change and retried, by method. */
  readonly unavailableRetried: Record<string, number> = {};

  constructor(private readonly key: string) {}

  private count(method: string, status: number): void {
    const k = `${method} ${status}`;
    this.statuses[k] = (this.statuses[k] ?? 0) + 1;
  }

  private async operation(method: string, res: Response): Promise<OperationBody["data"] | undefined> {
    this.count(method, res.status);
    if (res.status !== 202) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json<OperationBody>()).data;
  }

  async create(email: string, fields: Omit<Create, "kind" | "op" | "id" | "email">): Promise<void> {
    const op = await this.operation("POST", await postJson("/v1/subscribers", { email, ...fields }, bearer(this.key)));
    if (op) this.accepted.push({ kind: "subscriber.create", op: op.id, id: op.subscriber_id!, email, ...fields });
  }

  /**
   * A PATCH or DELETE resolves its subscriber first, from Postgres on a cache miss; when that times out
   * (a loaded two-core test machine at concurrency 48) the edge answers 503 with Retry-After and
   * accepts nothing. Like a client, retry it (after at most a second); each one is counted.
   */
  private async change(method: string, path: string, init: RequestInit): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const res = await call(path, { method, ...init });
      if (res.status !== 503 || attempt === 3 || !res.headers.get("retry-after")) return res;
      await res.body?.cancel();
      this.unavailableRetried[method] = (this.unavailableRetried[method] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  async patch(ref: string, changes: Update["changes"]): Promise<void> {
    const res = await this.change("PATCH", `/v1/subscribers/${encodeURIComponent(ref)}`, {
      headers: { "Content-Type": "application/json", ...bearer(this.key) },
      body: JSON.stringify(changes),
    });
    const op = await this.operation("PATCH", res);
    if (op) this.accepted.push({ kind: "subscriber.update", op: op.id, id: op.subscriber_id!, changes });
  }

  async delete(ref: string): Promise<void> {
    const op = await this.operation(
      "DELETE",
      await this.change("DELETE", `/v1/subscribers/${encodeURIComponent(ref)}`, { headers: bearer(this.key) }),
    );
    if (op) this.accepted.push({ kind: "subscriber.delete", op: op.id, id: op.subscriber_id! });
  }

  /** Enqueues a change as the edge would have; `what` names it in the report. */
  async send(what: string, change: AcceptedChange): Promise<void> {
    await env.SUBSCRIBER_QUEUE.send(messageOf(change), { contentType: "json" });
    this.direct[what] = (this.direct[what] ?? 0) + 1;
    this.accepted.push(change);
  }

  /** Sends again, unchanged, a change already accepted: an at-least-once redelivery. */
  async redeliver(rng: Random): Promise<void> {
    if (this.accepted.length > 0) await this.send("redelivered", rng.pick(this.accepted));
  }

  serverErrors(): string[] {
    return Object.keys(this.statuses).filter((k) => Number(k.split(" ")[1]) >= 500);
  }
}

/**
 * Waits until every accepted change has an outcome, then compares Postgres with the model: the
 * final state of every address at `domain`, and each subscriber's version and events.
 */
export async function checkAgainstModel(db: DbHandle, domain: string, accepted: readonly AcceptedChange[], timeoutMs: number) {
  const ops = [...new Set(accepted.map((c) => c.op))];
  await waitForOperations(db, ops, timeoutMs);
  const outcomes: OutcomeRow[] = [];
  for (let i = 0; i < ops.length; i += 1000) outcomes.push(...(await operationsOf(db, ops.slice(i, i + 1000))));
  const won = new Set(outcomes.filter((o) => o.status === "succeeded").map((o) => o.id));
  const model = applyInOrder(accepted, (op) => won.has(op));
  const stored = await storedIn(db, domain);
  const differing = differences(model, stored);

  const ids = [...new Set(accepted.map((c) => c.id))];
  const events: EventRow[] = [];
  for (let i = 0; i < ids.length; i += 1000)
    events.push(
      ...(await db.db
        .select()
        .from(subscriberEvents)
        .where(inArray(subscriberEvents.subscriberId, ids.slice(i, i + 1000)))),
    );
  const history = historyProblems(ids, stored, events, outcomes);

  const kinds = ["subscriber.create", "subscriber.update", "subscriber.delete"];
  const failed: Record<string, number> = {};
  for (const o of outcomes) if (o.status === "failed") failed[o.errorCode ?? "?"] = (failed[o.errorCode ?? "?"] ?? 0) + 1;
  const counts = {
    accepted: ops.length,
    accepted_by_kind: Object.fromEntries(kinds.map((k) => [k.slice(11), outcomes.filter((o) => o.kind === k).length])),
    changes_accepted: outcomes.filter((o) => o.kind !== "subscriber.create").length,
    succeeded: outcomes.filter((o) => o.status === "succeeded").length,
    changes_applied: outcomes.filter((o) => o.kind !== "subscriber.create" && o.status === "succeeded").length,
    superseded: outcomes.filter((o) => o.status === "superseded").length,
    failed,
    create_races_lost: [...model.effects.values()].filter((e) => e === "lost_race").length,
    events_checked: events.length,
    subscribers_stored: stored.length,
    differing_from_model: differing.length,
  };
  return { outcomes, model, stored, differing, history, counts };
}

/** For a failure message: each differing address (up to 10) with every accepted change about it, in order, and its outcome. */
export function explain(differing: readonly Difference[], accepted: readonly AcceptedChange[], outcomes: readonly OutcomeRow[]): string {
  const show = (s: Difference["stored"]) => (s ? `${s.id} ${s.name} ${s.last_name} ${s.status}` : "none");
  return differing
    .slice(0, 10)
    .map((d) => {
      const ids = new Set(accepted.filter((c) => c.kind === "subscriber.create" && c.email.toLowerCase() === d.email).map((c) => c.id));
      const related = [...new Map(accepted.filter((c) => ids.has(c.id)).map((c) => [c.op, c])).values()].sort((a, b) =>
        a.op < b.op ? -1 : 1,
      );
      const lines = related.map((c) => {
        const o = outcomes.find((x) => x.id === c.op);
        const what = c.kind === "subscriber.create" ? c.name : c.kind === "subscriber.update" ? JSON.stringify(c.changes) : "";
        return `  ${c.op} ${c.kind} ${c.id} ${what} -> ${o?.status} ${o?.errorCode ?? ""}`;
      });
      return `${d.email}: model ${show(d.expected)}, stored ${show(d.stored)}\n${lines.join("\n")}`;
    })
    .join("\n");
}
