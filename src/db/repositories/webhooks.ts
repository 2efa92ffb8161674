import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import { pgErrorCode } from "../errors.ts";
import { subscriberEvents, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../schema.ts";

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
type NewDelivery = typeof webhookDeliveries.$inferInsert;

export async function insertEndpoint(db: Database, row: typeof webhookEndpoints.$inferInsert): Promise<WebhookEndpointRow> {
  const [created] = await db.insert(webhookEndpoints).values(row).returning();
  return created!;
}

export async function findEndpoint(db: Executor, id: string): Promise<WebhookEndpointRow | undefined> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  return row;
}

/** Oldest first by id (UUIDv7), keyset. */
export async function listEndpoints(db: Database, q: { rows: number; after?: string | undefined }): Promise<WebhookEndpointRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(q.after ? gt(webhookEndpoints.id, q.after) : undefined)
    .orderBy(asc(webhookEndpoints.id))
    .limit(q.rows);
}

export async function updateEndpoint(
  db: Executor,
  id: string,
  set: Partial<typeof webhookEndpoints.$inferInsert>,
): Promise<WebhookEndpointRow | undefined> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ ...set, updatedAt: new Date() })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  return row;
}

async function insertDeliveries(db: Executor, rows: NewDelivery[]): Promise<WebhookDeliveryRow[]> {
  if (rows.length === 0) return [];
  return db.insert(webhookDeliveries).values(rows).returning();
}

/** A key for pg_advisory_xact_lock: one relay at a time, so deliveries are created in event order. */
const RELAY_LOCK = 7_204_311_001;

/**
 * The outbox relay's transaction. Under an advisory lock, takes the oldest events not yet relayed,
 * makes one delivery per enabled endpoint subscribed to each, and marks the events relayed. A relay
 * waits (briefly) for one already running rather than skipping: that one may have read the events
 * before this one's were committed. Returns the deliveries made, or undefined when the lock stayed
 * held past the wait (the next trigger, at the latest the cron minute, relays what is left).
 */
export async function relayEventBatch(
  db: Database,
  limit: number,
  newId: () => string,
): Promise<{ events: number; deliveries: WebhookDeliveryRow[] } | undefined> {
  return db
    .transaction(async (tx) => {
      await tx.execute(sql`set local lock_timeout = '2s'`);
      await tx.execute(sql`select pg_advisory_xact_lock(${RELAY_LOCK})`);
      const events = await tx
        .select()
        .from(subscriberEvents)
        .where(isNull(subscriberEvents.relayedAt))
        .orderBy(asc(subscriberEvents.id))
        .limit(limit);
      if (events.length === 0) return { events: 0, deliveries: [] };
      const endpoints = await tx
        .select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.enabled, true));
      const rows: NewDelivery[] = [];
      for (const e of events)
        for (const ep of endpoints)
          if (ep.events.includes(e.type))
            rows.push({
              id: newId(),
              endpointId: ep.id,
              messageId: `evt_${e.subscriberId}_${e.version}`,
              type: e.type,
              eventId: e.id,
              subscriberId: e.subscriberId,
              subscriberVersion: e.version,
            });
      const deliveries = await insertDeliveries(tx, rows);
      await tx
        .update(subscriberEvents)
        .set({ relayedAt: new Date() })
        .where(
          inArray(
            subscriberEvents.id,
            events.map((e) => e.id),
          ),
        );
      return { events: events.length, deliveries };
    })
    .catch((err: unknown) => {
      if (pgErrorCode(err) === "55P03") return undefined; // lock_not_available: the wait ran out
      throw err;
    });
}

/** Which endpoint each delivery goes to, for grouping a batch of jobs. */
export async function endpointsOfDeliveries(db: Database, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId })
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.id, ids));
  return new Map(rows.map((r) => [r.id, r.endpointId]));
}

/** Ends deliveries without an attempt (their endpoint was disabled). */
export async function failDeliveries(db: Database, ids: string[], error: string, at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(webhookDeliveries)
    .set({ status: "failed", lastError: error, completedAt: at, leaseUntil: null })
    .where(inArray(webhookDeliveries.id, ids));
}

/**
 * For deliveries just finished (delivered or given up): the next pending version of the same
 * subscriber to the same endpoint, which was waiting for them.
 */
export async function nextInLine(db: Database, finished: WebhookDeliveryRow[]): Promise<string[]> {
  const keyed = finished.filter((d) => d.subscriberId && d.subscriberVersion !== null);
  if (keyed.length === 0) return [];
  const pairs = sql.join(
    keyed.map((d) => sql`(${d.endpointId}::uuid, ${d.subscriberId}::uuid, ${d.subscriberVersion}::int)`),
    sql`, `,
  );
  const rows = await db.execute<{ id: string }>(sql`
    select distinct on (d.endpoint_id, d.subscriber_id) d.id
    from webhook_deliveries d join (values ${pairs}) as f(endpoint_id, subscriber_id, version)
      on d.endpoint_id = f.endpoint_id and d.subscriber_id = f.subscriber_id and d.subscriber_version > f.version
    where d.status = 'pending'
    order by d.endpoint_id, d.subscriber_id, d.subscriber_version`);
  return rows.rows.map((r) => r.id);
}

/**
 * Deliveries whose job may have been lost (the enqueue failed, or a consumer died holding a lease):
 * pending and due for a while, or delivering past their lease. Those waiting behind an earlier
 * version of their subscriber are not: the earlier one's job sends them when it finishes.
 */
export async function overdueDeliveries(db: Database, dueBefore: Date, limit: number): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`
    select d.id from webhook_deliveries d
    where ((d.status = 'pending' and d.next_attempt_at < ${dueBefore})
        or (d.status = 'delivering' and d.lease_until < ${dueBefore}))
      and not exists (
        select 1 from webhook_deliveries e
        where e.endpoint_id = d.endpoint_id and e.subscriber_id = d.subscriber_id
          and e.subscriber_version < d.subscriber_version and e.status in ('pending', 'delivering'))
    order by d.next_attempt_at
    limit ${limit}`);
  return rows.rows.map((r) => r.id);
}

/** Newest first, keyset on the UUIDv7 id, with each delivery's attempts. */
export async function listDeliveries(
  db: Database,
  q: { endpointId: string; rows: number; before?: string | undefined },
): Promise<Array<WebhookDeliveryRow & { attemptLog: WebhookAttemptRow[] }>> {
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, q.endpointId), q.before ? lt(webhookDeliveries.id, q.before) : undefined))
    .orderBy(desc(webhookDeliveries.id))
    .limit(q.rows);
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(webhookAttempts.id));
  return rows.map((r) => ({ ...r, attemptLog: attempts.filter((a) => a.deliveryId === r.id) }));
}

/**
 * Erasure: a subscriber's deliveries not yet made are dropped, and what receivers answered to the
 * ones made is dropped from the log (a receiver may echo the payload). Delivered payloads are not
 * stored (they are read from the events, which the erasure scrubs).
 */
export async function purgeSubscriberDeliveries(tx: Executor, subscriberIds: string[]): Promise<number> {
  if (subscriberIds.length === 0) return 0;
  const dropped = await tx
    .delete(webhookDeliveries)
    .where(and(inArray(webhookDeliveries.subscriberId, subscriberIds), inArray(webhookDeliveries.status, ["pending", "delivering"])))
    .returning({ id: webhookDeliveries.id });
  await tx
    .update(webhookAttempts)
    .set({ responseBody: null })
    .where(
      inArray(
        webhookAttempts.deliveryId,
        tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(inArray(webhookDeliveries.subscriberId, subscriberIds)),
      ),
    );
  return dropped.length;
}
