import type { NewOperationRow } from "../db/repositories/operations.ts";
import { ERASED_OPERATION } from "../db/repositories/operations.ts";
import type { NewSubscriberEventRow, NewTombstoneRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import { planErasure } from "./erasure-plan.ts";
import type {
  SubscriberCreateMessage,
  SubscriberDeleteMessage,
  SubscriberForgetMessage,
  SubscriberUpdateMessage,
  SubscriberWriteMessage,
} from "./messages.ts";
import { orderOf, subjectOf } from "./messages.ts";
import { normalizeEmail, toSubscriberView } from "./model.ts";
import type { OperationErrorCode } from "./schema.ts";
import type { CreatePlan, Tombstone } from "./write-plan.ts";
import { createSuperseded, missingOutcome, newestTombstone, planCreates, planDelete, planUpdate } from "./write-plan.ts";

/**
 * One set of writes (a batch, or a part of one while poison is searched for) decided over what its
 * transaction loaded, with no I/O: applySet (set-apply.ts) loads, calls the steps in this order and
 * writes what they decided (docs/write-rules.md "Order within a set"):
 * 1. `changes`: updates, deletes and erasures in the order of acceptance (orderOf); an update of a
 *    subscriber only a create in this set makes waits for step 3.
 * 2. `liveCreates`, `creates`, `insertedRows`: creates no tombstone supersedes, checked against the
 *    addresses stored once step 1's removals are (a freed address can be taken), then the INSERT's rows.
 * 3. `update` for each waiting update, then `writes`.
 */

export type Outcome = {
  operationId: string;
  kind: SubscriberWriteMessage["type"];
  status: "succeeded" | "failed" | "superseded";
  errorCode?: OperationErrorCode;
  subscriberId: string | null;
  version?: number;
  idempotencyKey?: string | undefined;
  requestMac?: string | undefined;
};

/** An erasure to carry out in Postgres: its history, deliveries and dead letters go. */
export interface PlannedErasure {
  operationId: string;
  ids: string[];
  emails: string[];
  /** This set's own operations about those subscribers: recorded erased. */
  ownOperations: Array<{ id: string; idempotencyKey: string | null }>;
}

/** Every write but a create: what step 1 applies. */
export type SubscriberChange = Exclude<SubscriberWriteMessage, SubscriberCreateMessage>;

/** What a set's transaction loads before deciding: ids and addresses to lock, ids for tombstones. */
export function toLoad(messages: readonly SubscriberWriteMessage[]): { lockIds: string[]; lockEmails: string[]; ids: string[] } {
  const ids = new Set<string>();
  const emails = new Set<string>();
  for (const m of messages) {
    const id = subjectOf(m);
    if (id) ids.add(id);
    if (m.type === "subscriber.forget" && m.email) emails.add(normalizeEmail(m.email));
  }
  // Changes lock their rows (by id, and an erasure's by address); creates only insert.
  const lockIds = messages.flatMap((m) => (m.type !== "subscriber.create" && m.subscriber_id ? [m.subscriber_id] : []));
  return { lockIds, lockEmails: [...emails], ids: [...ids] };
}

export class SetPlan {
  readonly outcomes: Outcome[] = [];
  /** Outcomes of this set about subscribers an erasure in it removed: recorded as erased operations. */
  private readonly erasedOutcomes: Outcome[] = [];
  readonly events: NewSubscriberEventRow[] = [];
  /** Rows created or changed, by id, as they will be committed. */
  readonly saved = new Map<string, SubscriberRow>();
  readonly removed: Array<{ id: string; email: string }> = [];
  readonly erasures: PlannedErasure[] = [];
  /** The set's rows by id: locked ones, then inserted ones; removed ones leave. */
  private readonly rows = new Map<string, SubscriberRow>();
  /** Tombstones this set adds, saved after step 1. */
  newTombstones: NewTombstoneRow[] = [];
  /** Rows this set inserted and has not changed since: the INSERT wrote them as they are. */
  private readonly inserted = new Set<string>();
  private createdBy = new Map<string, string>();

  constructor(
    locked: readonly SubscriberRow[],
    private readonly tombstones: readonly TombstoneRow[],
    /** Lower-cased email → keyed hash, for every address the messages carry and every locked row's. */
    private readonly hashes: ReadonlyMap<string, string>,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const row of locked) this.rows.set(row.id, row);
  }

  /** Step 1; returns the updates that wait for step 3. */
  changes(changes: readonly SubscriberChange[], creates: readonly SubscriberCreateMessage[]): SubscriberUpdateMessage[] {
    const waiting: SubscriberUpdateMessage[] = [];
    const created = new Set(creates.map((m) => m.subscriber.id));
    for (const m of changes) {
      if (m.type === "subscriber.delete") this.delete(m);
      else if (m.type === "subscriber.forget") this.forget(m);
      else if (!this.rows.has(m.subscriber_id) && created.has(m.subscriber_id)) waiting.push(m);
      else this.update(m);
    }
    return waiting;
  }

  /** Step 2a: the creates a tombstone supersedes are decided; the others, and their addresses, returned. */
  liveCreates(creates: readonly SubscriberCreateMessage[]): { live: SubscriberCreateMessage[]; emails: string[] } {
    const all = this.allTombstones();
    const live: SubscriberCreateMessage[] = [];
    for (const m of creates) {
      const hash = this.hashes.get(normalizeEmail(m.subscriber.email));
      if (createSuperseded(all, m.subscriber.id, hash, orderOf(m))) this.outcome(m, "superseded");
      else live.push(m);
    }
    return { live, emails: [...new Set(live.map((m) => normalizeEmail(m.subscriber.email)))] };
  }

  /** Step 2b: outcomes of the live creates, given the stored owners of their addresses; returns the rows to insert. */
  creates(live: readonly SubscriberCreateMessage[], existing: ReadonlyMap<string, string>): CreatePlan["inserts"] {
    const plan = planCreates(live, existing, this.now);
    for (const o of plan.outcomes)
      if (o.status === "succeeded") this.outcome(o.message, "succeeded", { subscriberId: o.subscriberId, version: o.version });
      else this.outcome(o.message, "failed", { errorCode: o.errorCode, subscriberId: o.subscriberId });
    this.createdBy = plan.createdBy;
    return plan.inserts;
  }

  /** Step 2c: the rows the INSERT returned, each with its `subscriber.created` event. */
  insertedRows(rows: readonly SubscriberRow[]): void {
    for (const row of rows) {
      this.inserted.add(row.id);
      this.rows.set(row.id, row);
      this.saved.set(row.id, row);
      this.event(row, "subscriber.created", this.createdBy.get(row.id)!);
    }
  }

  update(m: SubscriberUpdateMessage): void {
    const current = this.rows.get(m.subscriber_id);
    if (!current) {
      this.missing(m, missingOutcome(newestTombstone(this.allTombstones(), m.subscriber_id), orderOf(m)));
      return;
    }
    const decision = planUpdate(current, m, this.now);
    if (decision.kind !== "applied") {
      const { version } = decision;
      this.outcome(m, decision.kind, decision.kind === "failed" ? { errorCode: decision.errorCode, version } : { version });
      return;
    }
    const next = decision.row;
    if (decision.event) this.event(next, decision.event, m.operation_id);
    this.rows.set(next.id, next);
    // An update in the same set as the row's create changes the insert's row: saved after it.
    this.saved.set(next.id, next);
    this.inserted.delete(next.id);
    this.outcome(m, "succeeded", { version: next.version });
  }

  /** Step 3's end: the rows to UPDATE, the events to insert and every operation's outcome row. */
  writes(): { saves: SubscriberRow[]; events: NewSubscriberEventRow[]; operations: NewOperationRow[] } {
    const row = (o: Outcome, erased: boolean): NewOperationRow => ({
      id: o.operationId,
      kind: o.kind,
      status: o.status,
      subscriberId: erased ? null : o.subscriberId,
      errorCode: erased ? ERASED_OPERATION : (o.errorCode ?? null),
      version: o.version ?? null,
      idempotencyKey: o.idempotencyKey ?? null,
      requestMac: o.requestMac ?? null,
    });
    return {
      saves: [...this.saved.values()].filter((r) => this.rows.has(r.id) && !this.inserted.has(r.id)),
      events: this.events,
      operations: [...this.outcomes.map((o) => row(o, false)), ...this.erasedOutcomes.map((o) => row(o, true))],
    };
  }

  private allTombstones(): Tombstone[] {
    return [...this.tombstones, ...this.newTombstones];
  }

  private outcome(m: SubscriberWriteMessage, status: Outcome["status"], extra: Partial<Outcome> = {}): void {
    this.outcomes.push({
      operationId: m.operation_id,
      kind: m.type,
      status,
      subscriberId: subjectOf(m),
      idempotencyKey: m.idempotency_key,
      requestMac: m.request_mac,
      ...extra,
    });
  }

  private event(row: SubscriberRow, type: NewSubscriberEventRow["type"], operationId: string): void {
    this.events.push({ subscriberId: row.id, type, version: row.version, operationId, data: toSubscriberView(row) });
  }

  /** A change or delete whose row is gone (missingOutcome decided which). */
  private missing(m: SubscriberUpdateMessage | SubscriberDeleteMessage, outcome: "superseded" | "not_found"): void {
    this.outcome(m, outcome === "superseded" ? "superseded" : "failed", outcome === "superseded" ? {} : { errorCode: "not_found" });
  }

  private remove(row: SubscriberRow): void {
    this.rows.delete(row.id);
    this.saved.delete(row.id);
    this.removed.push({ id: row.id, email: row.email });
  }

  private delete(m: SubscriberDeleteMessage): void {
    const row = this.rows.get(m.subscriber_id);
    const hash = row ? (this.hashes.get(normalizeEmail(row.email)) ?? null) : null;
    const plan = planDelete(row, { loaded: this.tombstones, added: this.newTombstones }, m, hash, this.now);
    if (plan.kind === "missing") {
      this.newTombstones = plan.added;
      this.missing(m, plan.outcome);
      return;
    }
    if (plan.kind === "failed") {
      this.outcome(m, "failed", { errorCode: plan.errorCode, version: plan.version });
      return;
    }
    this.remove(plan.row);
    this.newTombstones.push(plan.tombstone);
    this.event(plan.row, "subscriber.deleted", m.operation_id);
    this.outcome(m, "succeeded", { version: plan.row.version });
  }

  private forget(m: SubscriberForgetMessage): void {
    const plan = planErasure({ message: m, rows: this.rows.values(), tombstones: this.allTombstones(), hashes: this.hashes });
    for (const row of plan.removals) this.remove(row);
    this.newTombstones.push(...plan.tombstones);
    // Earlier events and operations are erased in Postgres; this set's own go the same way (their
    // pending entries in the edge cache are purged with the others; the operations recorded erased).
    const covered = (id: string | null) => id !== null && plan.ids.includes(id);
    for (const e of this.events) if (covered(e.subscriberId)) e.data = { id: e.subscriberId, version: e.version };
    const ours = this.outcomes.filter((o) => covered(o.subscriberId));
    this.erasedOutcomes.push(...ours);
    this.outcomes.splice(0, this.outcomes.length, ...this.outcomes.filter((o) => !ours.includes(o)));
    for (const { id, version } of plan.forgotten)
      this.events.push({ subscriberId: id, type: "subscriber.forgotten", version, operationId: m.operation_id, data: { id, version } });
    this.erasures.push({
      operationId: m.operation_id,
      ids: plan.ids,
      emails: plan.emails,
      ownOperations: ours.map((o) => ({ id: o.operationId, idempotencyKey: o.idempotencyKey ?? null })),
    });
    this.outcome(m, "succeeded", { subscriberId: plan.subscriberId, ...(plan.version !== undefined ? { version: plan.version } : {}) });
  }
}
