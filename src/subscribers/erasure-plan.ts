import type { NewTombstoneRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";

type Tombstone = TombstoneRow | NewTombstoneRow;

export interface ErasureTarget {
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
