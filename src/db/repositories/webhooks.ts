import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
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

export async function deleteEndpoint(db: Database, id: string): Promise<boolean> {
  const rows = await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

export async function insertDeliveries(db: Executor, rows: NewDelivery[]): Promise<WebhookDeliveryRow[]> {
  if (rows.length === 0) return [];
  return db.insert(webhookDeliveries).values(rows).returning();
}

/** A key for pg_advisory_xact_lock: one relay at a time, so deliveries are created in event order. */
const RELAY_LOCK = 7_204_311_001;

/**
 * The outbox relay's transaction. Under an advisory lock (another relay running means this one has
 * nothing to do), takes the oldest events not yet relayed, makes one delivery per enabled endpoint
 * subscribed to each, and marks the events relayed. Returns the deliveries made, or undefined when
 * another relay holds the lock.
 */
export async function relayEventBatch(
  db: Database,
  limit: number,
  newId: () => string,
): Promise<{ events: number; deliveries: WebhookDeliveryRow[] } | undefined> {
  return db.transaction(async (tx) => {
    const lock = await tx.execute<{ ok: boolean }>(sql`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as ok`);
    if (!lock.rows[0]?.ok) return undefined;
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
  });
}

export type Claim =
  | {
      kind: "claimed";
      delivery: WebhookDeliveryRow;
      endpoint: WebhookEndpointRow;
      body: { type: string; timestamp: string; data: unknown };
    }
  /** Not its turn yet: an earlier version for the same endpoint is still on its way, or the endpoint is at its concurrency bound. */
  | { kind: "wait"; reason: "ordering" | "concurrency" | "not_due"; retryAt: Date }
  | { kind: "gone" }
  | { kind: "endpoint_disabled"; delivery: WebhookDeliveryRow };

/**
 * Claims a delivery for one attempt, under the endpoint's row lock so that concurrent consumers count
 * the endpoint's in-flight deliveries consistently. A claim is a lease: a consumer that dies mid-send
 * lets it lapse and the delivery is due again.
 */
export async function claimDelivery(db: Database, id: string, opts: { concurrency: number; leaseMs: number; now: Date }): Promise<Claim> {
  return db.transaction(async (tx) => {
    // Locked, so a second job for the same delivery waits for this claim and then sees it delivering.
    const [delivery] = await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).for("update");
    if (!delivery || delivery.status === "succeeded" || delivery.status === "failed") return { kind: "gone" };
    const [endpoint] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, delivery.endpointId)).for("update");
    if (!endpoint) return { kind: "gone" };
    if (!endpoint.enabled) return { kind: "endpoint_disabled", delivery };
    const leaseLive = sql`${webhookDeliveries.status} = 'delivering' and ${webhookDeliveries.leaseUntil} > ${opts.now}`;
    if (delivery.status === "delivering" && delivery.leaseUntil && delivery.leaseUntil > opts.now)
      return { kind: "wait", reason: "concurrency", retryAt: delivery.leaseUntil };
    if (delivery.nextAttemptAt > opts.now) return { kind: "wait", reason: "not_due", retryAt: delivery.nextAttemptAt };
    if (delivery.subscriberId && delivery.subscriberVersion !== null) {
      const [earlier] = await tx
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.endpointId, endpoint.id),
            eq(webhookDeliveries.subscriberId, delivery.subscriberId),
            lt(webhookDeliveries.subscriberVersion, delivery.subscriberVersion),
            inArray(webhookDeliveries.status, ["pending", "delivering"]),
          ),
        )
        .limit(1);
      if (earlier) return { kind: "wait", reason: "ordering", retryAt: new Date(opts.now.getTime() + 1_000) };
    }
    const [inFlight] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpoint.id), leaseLive));
    if ((inFlight?.n ?? 0) >= opts.concurrency)
      return { kind: "wait", reason: "concurrency", retryAt: new Date(opts.now.getTime() + 1_000) };

    let body: { type: string; timestamp: string; data: unknown };
    if (delivery.eventId !== null) {
      const [event] = await tx.select().from(subscriberEvents).where(eq(subscriberEvents.id, delivery.eventId));
      if (!event) return { kind: "gone" };
      body = { type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data };
    } else {
      body = delivery.payload as typeof body;
    }
    const [claimed] = await tx
      .update(webhookDeliveries)
      .set({ status: "delivering", leaseUntil: new Date(opts.now.getTime() + opts.leaseMs) })
      .where(eq(webhookDeliveries.id, id))
      .returning();
    return { kind: "claimed", delivery: claimed!, endpoint, body };
  });
}

export interface AttemptRecord {
  attemptedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
}

/** An attempt's row and the delivery's new state, in one transaction; the endpoint's failure clock with it. */
export async function recordAttempt(
  db: Database,
  delivery: WebhookDeliveryRow,
  attempt: AttemptRecord,
  next: { status: "succeeded" | "failed" | "pending"; nextAttemptAt?: Date },
  endpoint: { id: string; set?: Partial<typeof webhookEndpoints.$inferInsert> },
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(webhookAttempts).values({ deliveryId: delivery.id, ...attempt });
    await tx
      .update(webhookDeliveries)
      .set({
        status: next.status,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        leaseUntil: null,
        lastStatusCode: attempt.statusCode,
        lastError: attempt.error,
        ...(next.nextAttemptAt ? { nextAttemptAt: next.nextAttemptAt } : {}),
        ...(next.status === "pending" ? {} : { completedAt: attempt.attemptedAt }),
      })
      .where(eq(webhookDeliveries.id, delivery.id));
    if (endpoint.set) await tx.update(webhookEndpoints).set(endpoint.set).where(eq(webhookEndpoints.id, endpoint.id));
  });
}

/** Ends a delivery without an attempt (its endpoint was disabled). */
export async function failDelivery(db: Database, id: string, error: string, at: Date): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status: "failed", lastError: error, completedAt: at, leaseUntil: null })
    .where(eq(webhookDeliveries.id, id));
}

/** The next delivery of this subscriber to this endpoint that was waiting for the one just finished. */
export async function nextInLine(db: Database, d: WebhookDeliveryRow): Promise<string | undefined> {
  if (!d.subscriberId || d.subscriberVersion === null) return undefined;
  const [row] = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, d.endpointId),
        eq(webhookDeliveries.subscriberId, d.subscriberId),
        gt(webhookDeliveries.subscriberVersion, d.subscriberVersion),
        eq(webhookDeliveries.status, "pending"),
      ),
    )
    .orderBy(asc(webhookDeliveries.subscriberVersion))
    .limit(1);
  return row?.id;
}

/**
 * Deliveries whose job may have been lost (the enqueue failed, or a consumer died holding a lease):
 * pending and due for a while, or delivering past their lease.
 */
export async function overdueDeliveries(db: Database, dueBefore: Date, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      sql`(${webhookDeliveries.status} = 'pending' and ${webhookDeliveries.nextAttemptAt} < ${dueBefore})
        or (${webhookDeliveries.status} = 'delivering' and ${webhookDeliveries.leaseUntil} < ${dueBefore})`,
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
  return rows.map((r) => r.id);
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

export async function findDelivery(db: Database, endpointId: string, id: string): Promise<WebhookDeliveryRow | undefined> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.endpointId, endpointId)));
  return row;
}

/** Makes a finished delivery due again now (manual redelivery); attempts continue from where they were. */
export async function reopenDelivery(db: Database, id: string, now: Date): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, completedAt: null, leaseUntil: null })
    .where(eq(webhookDeliveries.id, id));
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
