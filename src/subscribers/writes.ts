import type { Database, Transaction } from "../db/client.ts";
import { isRefusedByDatabase, isUniqueViolation, pgErrorCode } from "../db/errors.ts";
import type { NewOperationRow } from "../db/repositories/operations.ts";
import { ERASED_OPERATION, findDecidedOperations, recordOperationOutcomes } from "../db/repositories/operations.ts";
import type { NewSubscriberEventRow, NewTombstoneRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";
import { eraseSubscriberHistory, findTombstones, insertSubscriberEvents, saveTombstones } from "../db/repositories/subscriber-history.ts";
import type { NewSubscriberRow, SubscriberRow } from "../db/repositories/subscribers.ts";
import {
  deleteSubscribers,
  findExistingEmails,
  insertSubscribers,
  lockSubscribers,
  saveSubscriber,
} from "../db/repositories/subscribers.ts";
import { purgeSubscriberDeliveries } from "../db/repositories/webhooks.ts";
import { erasureTombstones } from "./erasure-plan.ts";
import type {
  SubscriberCreateMessage,
  SubscriberDeleteMessage,
  SubscriberForgetMessage,
  SubscriberUpdateMessage,
  SubscriberWriteMessage,
} from "./messages.ts";
import { emailHash, normalizeEmail, toSubscriberView } from "./model.ts";
import { preconditionHolds } from "./preconditions.ts";
import type { OperationErrorCode } from "./schema.ts";
import { createSuperseded, missingOutcome, newestTombstone, planUpdate } from "./write-plan.ts";

/**
 * The consumer's side of every subscriber write: creates, updates, deletes and erasures, applied in
 * Postgres as one transaction per batch, in the order the edge accepted them.
 *
 * The rules (docs/api.md "Subscriber lifecycle"):
 * - Order is the operation id's (a UUIDv7 the edge assigned on accepting the change). Each field of a
 *   subscriber remembers the operation that last wrote it, and a change writes only the fields whose
 *   last writer is older than itself. A change that can write none of its fields was overtaken by a
 *   newer one and is recorded `superseded`. Redelivered and reordered changes therefore converge on
 *   the state the accepted order gives.
 * - A delete or an erasure leaves a tombstone: the subscriber id and a keyed hash of its email. A
 *   create or change for a tombstoned id, or a create for a tombstoned address that the edge accepted
 *   before the delete, is `superseded`: nothing late resurrects a subscriber.
 * - A message whose operation already has an outcome is not applied again.
 * - Each applied change bumps the subscriber's version and writes one event in the same transaction.
 */

type Outcome = {
  operationId: string;
  kind: SubscriberWriteMessage["type"];
  status: "succeeded" | "failed" | "superseded";
  errorCode?: OperationErrorCode;
  subscriberId: string | null;
  version?: number;
  idempotencyKey?: string | undefined;
};

/** A message whose data Postgres refused: its operation is recorded failed (invalid_data). */
interface Rejected {
  message: SubscriberWriteMessage;
  /** Log-safe: the SQLSTATE, never the data. */
  reason: string;
}

/** What an erasure removed, for the cache purge after commit. */
interface Erasure {
  subscriberIds: string[];
  emails: string[];
  operations: Array<{ id: string; idempotencyKey: string | null }>;
}

export interface StoreResult {
  outcomes: Outcome[];
  /** Rows created or changed, as committed. */
  saved: SubscriberRow[];
  /** Subscribers deleted or erased: their cache entries go. */
  removed: Array<{ id: string; email: string }>;
  erasures: Erasure[];
  rejected: Rejected[];
  /** Operations that already had an outcome: redeliveries, acked without any write. */
  alreadyDecided: number;
  /** Transactions used; more than one means a poison message was searched for. */
  transactions: number;
}

const MAX_CONFLICT_ROUNDS = 3;

/**
 * Applies a batch as a set, isolating poison. The whole batch goes in one transaction (the fast
 * path). If Postgres refuses the set for what it holds (see isRefusedByDatabase), the batch is split
 * in halves and each half tried the same way, down to the single messages that cause it: those are
 * rejected and everything else is applied. One bad message in a batch of 100 costs about
 * 2·log2(100) ≈ 14 extra transactions, and only when there is one.
 *
 * A transient error (database unreachable, serialization failure) is thrown: the caller retries the
 * messages. Halves that committed before it are safe to redeliver: their operations have outcomes.
 */
export async function storeSubscriberWrites(db: Database, hashKey: string, messages: SubscriberWriteMessage[]): Promise<StoreResult> {
  const result: StoreResult = { outcomes: [], saved: [], removed: [], erasures: [], rejected: [], alreadyDecided: 0, transactions: 0 };
  // A message can arrive twice in one batch (a redelivery beside a replay): one operation, one write.
  const unique = [...new Map(messages.map((m) => [m.operation_id, m])).values()].sort((a, b) =>
    a.operation_id < b.operation_id ? -1 : a.operation_id > b.operation_id ? 1 : 0,
  );
  await storeIsolating(db, hashKey, unique, result);
  return result;
}

async function storeIsolating(db: Database, hashKey: string, messages: SubscriberWriteMessage[], into: StoreResult): Promise<void> {
  if (messages.length === 0) return;
  try {
    into.transactions++;
    const applied = await applyAsOneSet(db, hashKey, messages);
    into.outcomes.push(...applied.outcomes);
    into.saved.push(...applied.saved.values());
    into.removed.push(...applied.removed);
    into.erasures.push(...applied.erasures);
    into.alreadyDecided += applied.alreadyDecided;
  } catch (err) {
    if (!isRefusedByDatabase(err)) throw err;
    if (messages.length === 1) {
      const message = messages[0]!;
      await recordOperationOutcomes(db, [
        {
          id: message.operation_id,
          kind: message.type,
          status: "failed",
          subscriberId: subjectOf(message),
          errorCode: "invalid_data",
          idempotencyKey: message.idempotency_key ?? null,
        },
      ]);
      into.rejected.push({ message, reason: `database refused the data (SQLSTATE ${pgErrorCode(err)})` });
      return;
    }
    const middle = Math.ceil(messages.length / 2);
    await storeIsolating(db, hashKey, messages.slice(0, middle), into);
    await storeIsolating(db, hashKey, messages.slice(middle), into);
  }
}

const subjectOf = (m: SubscriberWriteMessage): string | null =>
  m.type === "subscriber.create" ? m.subscriber.id : (m.subscriber_id ?? null);

interface Applied {
  outcomes: Outcome[];
  saved: Map<string, SubscriberRow>;
  removed: Array<{ id: string; email: string }>;
  erasures: Erasure[];
  alreadyDecided: number;
}

/**
 * One transaction. A concurrent consumer can insert the same email between our check and our
 * insert; the unique index on lower(email) then rejects the INSERT, the transaction rolls back, and
 * the next round re-checks and sees that row as existing. Deadlocks and serialization failures are
 * transient and go back to the queue.
 */
async function applyAsOneSet(db: Database, hashKey: string, messages: SubscriberWriteMessage[]): Promise<Applied> {
  // Hashing is pure; done once, outside the transaction and its retries.
  const hashes = new Map<string, string>();
  for (const m of messages) {
    const email = m.type === "subscriber.create" ? m.subscriber.email : m.type === "subscriber.forget" ? m.email : undefined;
    if (email) hashes.set(normalizeEmail(email), await emailHash(hashKey, email));
  }
  for (let round = 1; ; round++) {
    try {
      return await db.transaction((tx) => new SetApplier(tx, hashKey, hashes).apply(messages));
    } catch (err) {
      if (!isUniqueViolation(err) || round >= MAX_CONFLICT_ROUNDS) throw err;
    }
  }
}

class SetApplier {
  private readonly outcomes: Outcome[] = [];
  /** Outcomes of this set about subscribers an erasure in it removed: recorded as erased operations. */
  private readonly erasedOutcomes: Outcome[] = [];
  private readonly events: NewSubscriberEventRow[] = [];
  private readonly saved = new Map<string, SubscriberRow>();
  private readonly removed: Array<{ id: string; email: string }> = [];
  private readonly erasures: Erasure[] = [];
  /** Rows locked for this set, by id; deleted ones are removed from it. */
  private readonly rows = new Map<string, SubscriberRow>();
  private readonly tombstones: TombstoneRow[] = [];
  private readonly newTombstones: NewTombstoneRow[] = [];
  /** Rows this set inserted and has not changed since: the INSERT wrote them as they are. */
  private readonly inserted = new Set<string>();

  constructor(
    private readonly tx: Transaction,
    private readonly hashKey: string,
    /** Lower-cased email → its keyed hash, for every address the messages carry. */
    private readonly hashes: Map<string, string>,
  ) {}

  async apply(all: SubscriberWriteMessage[]): Promise<Applied> {
    const decided = await findDecidedOperations(
      this.tx,
      all.map((m) => m.operation_id),
    );
    const messages = all.filter((m) => !decided.has(m.operation_id));
    const creates = messages.filter((m): m is SubscriberCreateMessage => m.type === "subscriber.create");
    const changes = messages.filter((m) => m.type !== "subscriber.create");

    const ids = new Set<string>();
    const emails = new Set<string>();
    for (const m of messages) {
      const id = subjectOf(m);
      if (id) ids.add(id);
      if (m.type === "subscriber.forget" && m.email) emails.add(normalizeEmail(m.email));
    }
    // Changes lock their rows first (in id order); creates only insert.
    for (const row of await lockSubscribers(
      this.tx,
      changes.flatMap((m) => (m.subscriber_id ? [m.subscriber_id] : [])),
      [...emails],
    ))
      this.rows.set(row.id, row);
    this.tombstones.push(...(await findTombstones(this.tx, [...ids], [...this.hashes.values()])));

    // Changes in the accepted order, then creates, then the updates of rows those creates make: an
    // address freed by a delete in this batch can be taken by a newer create in it, and an update
    // followed by a delete of the same subscriber applies (and writes its event) before the delete.
    const afterCreates: SubscriberUpdateMessage[] = [];
    const created = new Set(creates.map((m) => m.subscriber.id));
    for (const m of changes) {
      if (m.type === "subscriber.delete") await this.delete(m);
      else if (m.type === "subscriber.forget") await this.forget(m);
      else if (!this.rows.has(m.subscriber_id) && created.has(m.subscriber_id)) afterCreates.push(m);
      else this.update(m);
    }
    await deleteSubscribers(
      this.tx,
      this.removed.map((r) => r.id),
    );
    await saveTombstones(this.tx, this.newTombstones);
    await this.create(creates);
    for (const m of afterCreates) this.update(m);

    for (const row of this.saved.values()) if (this.rows.has(row.id) && !this.inserted.has(row.id)) await saveSubscriber(this.tx, row);
    await insertSubscriberEvents(this.tx, this.events);
    const row = (o: Outcome, erased: boolean): NewOperationRow => ({
      id: o.operationId,
      kind: o.kind,
      status: o.status,
      subscriberId: erased ? null : o.subscriberId,
      errorCode: erased ? ERASED_OPERATION : (o.errorCode ?? null),
      version: o.version ?? null,
      idempotencyKey: o.idempotencyKey ?? null,
    });
    await recordOperationOutcomes(this.tx, [...this.outcomes.map((o) => row(o, false)), ...this.erasedOutcomes.map((o) => row(o, true))]);
    return { outcomes: this.outcomes, saved: this.saved, removed: this.removed, erasures: this.erasures, alreadyDecided: decided.size };
  }

  private outcome(m: SubscriberWriteMessage, status: Outcome["status"], extra: Partial<Outcome> = {}): void {
    this.outcomes.push({
      operationId: m.operation_id,
      kind: m.type,
      status,
      subscriberId: subjectOf(m),
      idempotencyKey: m.idempotency_key,
      ...extra,
    });
  }

  private event(row: SubscriberRow, type: NewSubscriberEventRow["type"], operationId: string, data?: unknown): void {
    this.events.push({ subscriberId: row.id, type, version: row.version, operationId, data: data ?? toSubscriberView(row) });
  }

  /** The newest tombstone for a subscriber id or an address hash. */
  private tombstoneOf(id: string | undefined, hash?: string): TombstoneRow | NewTombstoneRow | undefined {
    return newestTombstone([...this.tombstones, ...this.newTombstones], id, hash);
  }

  /** When the row is gone: superseded if a newer delete or erasure removed it, otherwise not_found. */
  private missing(m: SubscriberUpdateMessage | SubscriberDeleteMessage): void {
    if (missingOutcome(this.tombstoneOf(m.subscriber_id), m.operation_id) === "superseded") this.outcome(m, "superseded");
    else this.outcome(m, "failed", { errorCode: "not_found" });
  }

  private preconditionFails(m: SubscriberUpdateMessage | SubscriberDeleteMessage, row: SubscriberRow): boolean {
    if (preconditionHolds(m, row.version)) return false;
    this.outcome(m, "failed", { errorCode: "precondition_failed", version: row.version });
    return true;
  }

  private async delete(m: SubscriberDeleteMessage): Promise<void> {
    const row = this.rows.get(m.subscriber_id);
    if (!row) {
      this.missing(m);
      const tomb = this.tombstoneOf(m.subscriber_id);
      // A delete that overtook its subscriber's create still wins over it: the id is kept.
      if (!tomb)
        this.newTombstones.push({
          subscriberId: m.subscriber_id,
          emailHash: null,
          kind: "deleted",
          operationId: m.operation_id,
          version: 0,
        });
      // Deleted twice, the newer delete applied first: in the accepted order the subscriber was gone
      // from this older delete on, so its address was free from here (a create accepted between the
      // two is not refused). The tombstone takes the older operation.
      else if (tomb.kind === "deleted" && tomb.operationId > m.operation_id) {
        const ours = this.newTombstones.find((t) => t.subscriberId === m.subscriber_id);
        if (ours) ours.operationId = m.operation_id;
        else
          this.newTombstones.push({
            subscriberId: m.subscriber_id,
            emailHash: tomb.emailHash,
            kind: "deleted",
            operationId: m.operation_id,
            version: tomb.version,
          });
      }
      return;
    }
    if (this.preconditionFails(m, row)) return;
    const gone = { ...row, version: row.version + 1, updatedAt: new Date() };
    await this.remove(gone, "deleted", m.operation_id);
    this.event(gone, "subscriber.deleted", m.operation_id);
    this.outcome(m, "succeeded", { version: gone.version });
  }

  /** Drops a row and tombstones it; its email hash comes from the row, so no message needs the address. */
  private async remove(row: SubscriberRow, kind: "deleted" | "forgotten", operationId: string): Promise<void> {
    const email = normalizeEmail(row.email);
    if (!this.hashes.has(email)) this.hashes.set(email, await emailHash(this.hashKey, email));
    this.rows.delete(row.id);
    this.saved.delete(row.id);
    this.removed.push({ id: row.id, email: row.email });
    this.newTombstones.push({
      subscriberId: row.id,
      emailHash: this.hashes.get(normalizeEmail(row.email)) ?? null,
      kind,
      operationId,
      version: row.version,
    });
  }

  private async forget(m: SubscriberForgetMessage): Promise<void> {
    const email = m.email ? normalizeEmail(m.email) : undefined;
    const hash = email ? this.hashes.get(email) : undefined;
    const live = [...this.rows.values()].filter((r) => r.id === m.subscriber_id || (email && normalizeEmail(r.email) === email));
    const buried = [...this.tombstones, ...this.newTombstones].filter(
      (t) => (m.subscriber_id && t.subscriberId === m.subscriber_id) || (hash && t.emailHash === hash),
    );
    const ids = [
      ...new Set([
        ...live.map((r) => r.id),
        ...buried.flatMap((t) => (t.subscriberId ? [t.subscriberId] : [])),
        ...(m.subscriber_id ? [m.subscriber_id] : []),
      ]),
    ];
    const emails = [...new Set([...live.map((r) => normalizeEmail(r.email)), ...(email ? [email] : [])])];

    const plan = erasureTombstones({
      operationId: m.operation_id,
      subscriberId: m.subscriber_id,
      emailHash: hash,
      liveIds: live.map((r) => r.id),
      buried,
    });
    const versions = new Map(plan.versions);
    for (const r of live) {
      const gone = { ...r, version: r.version + 1 };
      await this.remove(gone, "forgotten", m.operation_id);
      versions.set(r.id, gone.version);
    }
    this.newTombstones.push(...plan.tombstones);

    const erased = await eraseSubscriberHistory(this.tx, ids, emails, m.operation_id);
    await purgeSubscriberDeliveries(this.tx, ids);
    // Earlier events and operations were erased above; this set's own go the same way (their
    // pending entries in the edge cache are purged with the others; the operations recorded erased).
    for (const e of this.events) if (ids.includes(e.subscriberId)) e.data = { id: e.subscriberId, version: e.version };
    const ours = this.outcomes.filter((o) => o.subscriberId && ids.includes(o.subscriberId));
    erased.operations.push(...ours.map((o) => ({ id: o.operationId, idempotencyKey: o.idempotencyKey ?? null })));
    this.erasedOutcomes.push(...ours);
    this.outcomes.splice(0, this.outcomes.length, ...this.outcomes.filter((o) => !ours.includes(o)));
    for (const [id, version] of versions)
      this.events.push({ subscriberId: id, type: "subscriber.forgotten", version, operationId: m.operation_id, data: { id, version } });
    this.erasures.push({ subscriberIds: ids, emails, operations: erased.operations });
    const primary = live[0]?.id ?? m.subscriber_id ?? buried.find((t) => t.subscriberId)?.subscriberId ?? null;
    this.outcome(m, "succeeded", {
      subscriberId: primary,
      ...(primary && versions.has(primary) ? { version: versions.get(primary) } : {}),
    });
  }

  /**
   * Check-then-insert for the set's creates: one query finds which emails exist, one multi-row INSERT
   * adds the rest. Never an upsert. A redelivered create finds its own id stored and succeeds again
   * without writing; a create for a tombstoned subscriber, or for an address deleted after the edge
   * accepted it, is superseded.
   */
  private async create(creates: SubscriberCreateMessage[]): Promise<void> {
    if (creates.length === 0) return;
    const live: SubscriberCreateMessage[] = [];
    for (const m of creates) {
      const hash = this.hashes.get(normalizeEmail(m.subscriber.email));
      if (createSuperseded([...this.tombstones, ...this.newTombstones], m.subscriber.id, hash, m.operation_id))
        this.outcome(m, "superseded");
      else live.push(m);
    }
    const byEmail = new Map<string, SubscriberCreateMessage[]>();
    for (const m of live) {
      const key = normalizeEmail(m.subscriber.email);
      byEmail.set(key, [...(byEmail.get(key) ?? []), m]);
    }
    const existing = await findExistingEmails(this.tx, [...byEmail.keys()]);
    const toInsert: NewSubscriberRow[] = [];
    const createdBy = new Map<string, string>();
    for (const [email, group] of byEmail) {
      // The email's owner: already stored, or the first request for it in this set.
      const ownerId = existing.get(email) ?? group[0]!.subscriber.id;
      if (!existing.has(email)) {
        const { subscriber: s, operation_id: op } = group[0]!;
        const at = new Date();
        toInsert.push({
          id: s.id,
          email: s.email.trim(),
          name: s.name,
          lastName: s.last_name,
          status: s.status,
          unsubscribedAt: s.status === "unsubscribed" ? at : null,
          fieldOps: { name: op, last_name: op, status: op },
        });
        createdBy.set(s.id, op);
      }
      for (const m of group) {
        if (m.subscriber.id === ownerId) this.outcome(m, "succeeded", { subscriberId: ownerId, version: 1 });
        else this.outcome(m, "failed", { errorCode: "already_exists", subscriberId: ownerId });
      }
    }
    for (const row of await insertSubscribers(this.tx, toInsert)) {
      this.inserted.add(row.id);
      this.rows.set(row.id, row);
      this.saved.set(row.id, row);
      this.event(row, "subscriber.created", createdBy.get(row.id)!);
    }
  }

  private update(m: SubscriberUpdateMessage): void {
    const current = this.rows.get(m.subscriber_id);
    if (!current) {
      this.missing(m);
      return;
    }
    const decision = planUpdate(current, m);
    if (decision.kind !== "applied") {
      const { kind, version } = decision;
      this.outcome(
        m,
        kind === "failed" ? "failed" : "superseded",
        kind === "failed" ? { errorCode: decision.errorCode, version } : { version },
      );
      return;
    }
    const next = decision.row;
    if (decision.event) this.event(next, decision.event, m.operation_id);
    this.rows.set(next.id, next);
    // An update in the same set as the row's create changes the insert's row: saved after it.
    this.saved.set(next.id, next);
    if (this.inserted.has(next.id)) this.inserted.delete(next.id);
    this.outcome(m, "succeeded", { version: next.version });
  }
}
