import type { NewTombstoneRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberForgetMessage } from "./messages.ts";
import { orderOf } from "./messages.ts";
import { normalizeEmail } from "./model.ts";

type Tombstone = TombstoneRow | NewTombstoneRow;

export interface ErasureTarget {
  /** The erasure's place in the order of acceptance (orderOf), which its tombstones keep. */
  operationId: string;
  /** The id the erasure names, if it names one. */
  subscriberId?: string | undefined;
  /** The keyed hash of the address it names, if it names one. */
  emailHash?: string | undefined;
  /** Live rows it removes (those are tombstoned as they are removed). */
  liveIds: string[];
  /** Tombstones already kept for its id or address. */
  buried: Tombstone[];
}

/**
 * The tombstones an erasure adds beside those of the rows it removes, and the versions its
 * `subscriber.forgotten` events carry for subscribers it finds already deleted:
 * - a deleted subscriber's tombstone becomes `forgotten` (the event tells receivers, who saw it);
 * - an id with no row and no tombstone is one whose create the erasure overtook (the edge gave that
 *   id in the create's 202): the id is tombstoned, so the create, whenever it comes, ends
 *   `superseded` and nothing of the person is stored. No event: no receiver ever saw it;
 * - an address nobody has (yet) is tombstoned by its hash alone, which refuses creates accepted
 *   before the erasure.
 */
export function erasureTombstones(e: ErasureTarget): { tombstones: NewTombstoneRow[]; versions: Map<string, number> } {
  const tombstones: NewTombstoneRow[] = [];
  const versions = new Map<string, number>();
  for (const t of e.buried)
    if (t.subscriberId && !e.liveIds.includes(t.subscriberId) && t.kind !== "forgotten") {
      const version = (t.version ?? 0) + 1;
      versions.set(t.subscriberId, version);
      tombstones.push({ ...t, kind: "forgotten", operationId: e.operationId, version });
    }
  const idKnown =
    e.subscriberId === undefined || e.liveIds.includes(e.subscriberId) || e.buried.some((t) => t.subscriberId === e.subscriberId);
  const hashKnown = e.emailHash === undefined || e.liveIds.length > 0 || e.buried.some((t) => t.emailHash === e.emailHash);
  if (!idKnown || !hashKnown)
    tombstones.push({
      subscriberId: idKnown ? null : e.subscriberId!,
      emailHash: hashKnown ? null : e.emailHash!,
      kind: "forgotten",
      operationId: e.operationId,
      version: 0,
    });
  return { tombstones, versions };
}

export interface ErasureInput {
  message: SubscriberForgetMessage;
  /** The set's rows (locked, or inserted by it), in the set's order. */
  rows: Iterable<SubscriberRow>;
  /** Every tombstone the set knows: loaded, then its own. */
  tombstones: readonly Tombstone[];
  /** Lower-cased email → keyed hash, for the message's address and every row's. */
  hashes: ReadonlyMap<string, string>;
}

export interface ErasurePlan {
  /** Rows removed, at their version + 1 (each tombstoned `forgotten` in `tombstones`). */
  removals: SubscriberRow[];
  /** The removed rows' tombstones, then erasureTombstones'. */
  tombstones: NewTombstoneRow[];
  /** Every subscriber id the erasure covers (history, deliveries, the set's own records of them). */
  ids: string[];
  /** Every lower-cased address it covers (dead letters, cache). */
  emails: string[];
  /** The `subscriber.forgotten` events: already deleted ones first, then the removed rows. */
  forgotten: Array<{ id: string; version: number }>;
  /** The erasure's own outcome: the subscriber it names first, and that one's version if it has an event. */
  subscriberId: string | null;
  version?: number;
}

/**
 * An erasure (forget), by id, by address or both: it removes every row with that id or address,
 * covers every id a tombstone of either names, and tombstones what it found and what it overtook
 * (see erasureTombstones). It does not look at operation order: an erasure takes whatever is there
 * when it applies.
 */
export function planErasure({ message: m, rows, tombstones, hashes }: ErasureInput): ErasurePlan {
  const email = m.email ? normalizeEmail(m.email) : undefined;
  const hash = email ? hashes.get(email) : undefined;
  const live = [...rows].filter((r) => r.id === m.subscriber_id || (email && normalizeEmail(r.email) === email));
  const buried = tombstones.filter((t) => (m.subscriber_id && t.subscriberId === m.subscriber_id) || (hash && t.emailHash === hash));
  const ids = [
    ...new Set([
      ...live.map((r) => r.id),
      ...buried.flatMap((t) => (t.subscriberId ? [t.subscriberId] : [])),
      ...(m.subscriber_id ? [m.subscriber_id] : []),
    ]),
  ];
  const emails = [...new Set([...live.map((r) => normalizeEmail(r.email)), ...(email ? [email] : [])])];
  const overtaken = erasureTombstones({
    operationId: orderOf(m),
    subscriberId: m.subscriber_id,
    emailHash: hash,
    liveIds: live.map((r) => r.id),
    buried,
  });
  const removals = live.map((r) => ({ ...r, version: r.version + 1 }));
  const versions = new Map(overtaken.versions);
  for (const r of removals) versions.set(r.id, r.version);
  const primary = live[0]?.id ?? m.subscriber_id ?? buried.find((t) => t.subscriberId)?.subscriberId ?? null;
  return {
    removals,
    tombstones: [
      ...removals.map((r) => ({
        subscriberId: r.id,
        emailHash: hashes.get(normalizeEmail(r.email)) ?? null,
        kind: "forgotten" as const,
        operationId: orderOf(m),
        version: r.version,
      })),
      ...overtaken.tombstones,
    ],
    ids,
    emails,
    forgotten: [...versions].map(([id, version]) => ({ id, version })),
    subscriberId: primary,
    ...(primary && versions.has(primary) ? { version: versions.get(primary) } : {}),
  };
}
