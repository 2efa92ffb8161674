// The reference for the mixed-traffic tests: the accepted changes applied one at a time in operation
// id order (the edge's order of acceptance) with the documented rules (src/subscribers/writes.ts).
// Whatever order the queue delivers them in, the consumer must end in the state this gives.
import type { SubscriberStatus } from "../../src/subscribers/schema.ts";

type Fields = { name: string; last_name: string; status: SubscriberStatus };

/** One change the API accepted (a 202 with its operation id), or one sent to the queue as the edge would. */
export type AcceptedChange =
  | ({ kind: "subscriber.create"; op: string; id: string; email: string } & Fields)
  | { kind: "subscriber.update"; op: string; id: string; changes: Partial<Fields> }
  | { kind: "subscriber.delete"; op: string; id: string };

type ModelSubscriber = { id: string; email: string } & Fields;

/** What each change did in the sequential order, for the report (the consumer may end some another way, e.g. superseded). */
type ModelEffect = "created" | "already_exists" | "lost_race" | "changed" | "unchanged" | "deleted" | "no_subscriber";

export interface Model {
  /** Live subscribers by lower-cased email. */
  byEmail: Map<string, ModelSubscriber>;
  effects: Map<string, ModelEffect>;
}

/**
 * Sequential application in operation id order: per field the newest change wins (in this order that
 * is simply the last one); a delete removes; a change to a subscriber that does not exist (deleted,
 * or not created) does nothing; a create for an address that is taken fails already_exists. A change
 * seen twice (a redelivery) is one change.
 *
 * One choice is the consumer's, not the order's: of several creates racing for a free address, the
 * first one stored wins (check-then-insert: a concurrent insert of the address makes the others
 * already_exists, src/subscribers/writes.ts), and a stored create is final. So when `succeeded` (the
 * recorded outcomes) is given, a create for a free address that did not succeed while a later create
 * of the same address did has lost that race and does nothing; the winner takes the address at its
 * own place in the order. A create that failed with no such winner still counts as created here, so
 * a wrongly refused create is a difference, as is a create stored against the order.
 */
export function applyInOrder(changes: readonly AcceptedChange[], succeeded?: (op: string) => boolean): Model {
  const unique = [...new Map(changes.map((c) => [c.op, c])).values()].sort((a, b) => (a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
  const byId = new Map<string, ModelSubscriber>();
  const byEmail = new Map<string, ModelSubscriber>();
  const effects = new Map<string, ModelEffect>();
  const creates = new Map<string, string[]>();
  for (const c of unique)
    if (c.kind === "subscriber.create") creates.set(c.email.toLowerCase(), [...(creates.get(c.email.toLowerCase()) ?? []), c.op]);
  for (const c of unique) {
    if (c.kind === "subscriber.create") {
      const email = c.email.toLowerCase();
      if (byEmail.has(email)) {
        effects.set(c.op, "already_exists");
        continue;
      }
      if (succeeded && !succeeded(c.op) && creates.get(email)!.some((op) => op > c.op && succeeded(op))) {
        effects.set(c.op, "lost_race");
        continue;
      }
      const s: ModelSubscriber = { id: c.id, email, name: c.name, last_name: c.last_name, status: c.status };
      byId.set(c.id, s);
      byEmail.set(email, s);
      effects.set(c.op, "created");
      continue;
    }
    const s = byId.get(c.id);
    if (!s) {
      effects.set(c.op, "no_subscriber");
      continue;
    }
    if (c.kind === "subscriber.delete") {
      byId.delete(c.id);
      byEmail.delete(s.email);
      effects.set(c.op, "deleted");
      continue;
    }
    const before = JSON.stringify(s);
    Object.assign(s, c.changes);
    effects.set(c.op, JSON.stringify(s) === before ? "unchanged" : "changed");
  }
  return { byEmail, effects };
}

export interface StoredSubscriber {
  id: string;
  email: string;
  name: string;
  lastName: string;
  status: SubscriberStatus;
  version: number;
}

export interface Difference {
  email: string;
  expected: ModelSubscriber | null;
  stored: Omit<ModelSubscriber, "email"> | null;
}

/** Every address whose stored state (existence, id, name, last_name, status) is not the model's. */
export function differences(model: Model, stored: readonly StoredSubscriber[]): Difference[] {
  const rows = new Map(stored.map((r) => [r.email.toLowerCase(), r]));
  const out: Difference[] = [];
  for (const email of new Set([...model.byEmail.keys(), ...rows.keys()])) {
    const expected = model.byEmail.get(email) ?? null;
    const row = rows.get(email);
    const actual = row ? { id: row.id, name: row.name, last_name: row.lastName, status: row.status } : null;
    const same =
      expected && actual
        ? expected.id === actual.id &&
          expected.name === actual.name &&
          expected.last_name === actual.last_name &&
          expected.status === actual.status
        : expected === actual;
    if (!same) out.push({ email, expected, stored: actual });
  }
  return out;
}

export interface EventRow {
  id: number;
  subscriberId: string;
  type: string;
  version: number;
  operationId: string;
}

export interface OutcomeRow {
  id: string;
  kind: string;
  status: string;
  subscriberId: string | null;
  errorCode: string | null;
  version: number | null;
}

/**
 * The history rules, checked per subscriber: its events, in the order they were written, have
 * versions 1, 2, 3… with no gap and no repeat, the first `created`; each one is the event of a
 * succeeded operation of that subscriber carrying that version; a live subscriber's version is 1 plus
 * the number of its applied changes that changed something (its update events), and a deleted
 * one's last event is its delete. Returns a description of every violation.
 */
export function historyProblems(
  ids: readonly string[],
  live: readonly StoredSubscriber[],
  events: readonly EventRow[],
  outcomes: readonly OutcomeRow[],
): string[] {
  const problems: string[] = [];
  const rows = new Map(live.map((r) => [r.id, r]));
  const ops = new Map(outcomes.map((o) => [o.id, o]));
  const bySubscriber = new Map<string, EventRow[]>();
  for (const e of [...events].sort((a, b) => a.id - b.id))
    bySubscriber.set(e.subscriberId, [...(bySubscriber.get(e.subscriberId) ?? []), e]);
  for (const id of ids) {
    const list = bySubscriber.get(id) ?? [];
    const row = rows.get(id);
    if (row && list.length === 0) problems.push(`${id}: stored without events`);
    if (list.length === 0) continue;
    list.forEach((e, i) => {
      if (e.version !== i + 1) problems.push(`${id}: event ${i + 1} has version ${e.version}`);
      const op = ops.get(e.operationId);
      // Operations the test did not send (none here) would be unknown; ours must have succeeded with this version.
      if (!op) problems.push(`${id}: event v${e.version} by an operation without an outcome`);
      else if (op.status !== "succeeded" || op.subscriberId !== id || op.version !== e.version)
        problems.push(`${id}: event v${e.version} by ${op.kind} ${op.status} v${op.version}`);
    });
    if (list[0]!.type !== "subscriber.created") problems.push(`${id}: first event is ${list[0]!.type}`);
    const changes = list.filter((e) => e.type === "subscriber.updated" || e.type === "subscriber.unsubscribed").length;
    if (row) {
      if (row.version !== 1 + changes) problems.push(`${id}: version ${row.version}, but 1 + ${changes} applied changes`);
      if (row.version !== list.length) problems.push(`${id}: version ${row.version}, but ${list.length} events`);
    } else if (list.at(-1)!.type !== "subscriber.deleted") problems.push(`${id}: gone, but its last event is ${list.at(-1)!.type}`);
  }
  return problems;
}
