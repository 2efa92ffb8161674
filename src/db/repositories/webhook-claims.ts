import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { Database } from "../client.ts";
import { subscriberEvents, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../schema.ts";
import type { WebhookDeliveryRow, WebhookEndpointRow } from "./webhooks.ts";

// The webhook consumer's two transactions per endpoint and round: the claim, before the requests
// are sent, and the record of their outcomes, after. Both take the endpoint's row first, so a
// DELETE of the endpoint (which takes it, then cascades over its deliveries) waits for them or
// overtakes them whole, instead of deadlocking with them.

export interface ClaimedDelivery {
  delivery: WebhookDeliveryRow;
  /** The attempt's row, written before the request is sent, so the log shows every attempt made. */
  attemptId: number;
  body: { type: string; timestamp: string; data: unknown };
}

export type GroupClaim =
  | { kind: "gone" }
  /** Another invocation is sending to this endpoint; come back then. */
  | { kind: "busy"; retryAt: Date; struggling: boolean }
  | { kind: "disabled"; failed: WebhookDeliveryRow[] }
  | {
      kind: "claimed";
      endpoint: WebhookEndpointRow;
      claimed: ClaimedDelivery[];
      /** Not due yet: their job comes back at that time. */
      notDue: Array<{ id: string; at: Date }>;
      /** Behind an earlier version of their subscriber to this endpoint. */
      blocked: string[];
      /** Due but over the round's cap: they go when this round is done. */
      deferred: string[];
    };

/** Failing with no success for a minute: not a blip (a receiver failing now and then succeeds in between). */
const STRUGGLING_AFTER_MS = 60_000;
const struggling = (endpoint: WebhookEndpointRow, now: Date) =>
  endpoint.failingSince !== null && now.getTime() - endpoint.failingSince.getTime() >= STRUGGLING_AFTER_MS;

/** Up to `limit` of an endpoint's deliveries due now, oldest due first: what its next round may take. */
export async function dueForEndpoint(db: Database, endpointId: string, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)),
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

/**
 * Claims, for one attempt each, the deliveries of a batch that go to one endpoint. Under the
 * endpoint's row lock: an endpoint is sent to by one invocation at a time (which keeps at most the
 * endpoint's concurrency in flight), and a delivery goes only when no earlier version of its
 * subscriber to this endpoint is still pending or being delivered. One round is claimed: at most the
 * endpoint's concurrency, and one while the endpoint is struggling (a receiver that hangs then holds
 * one request, not four), oldest due first. Each claimed delivery gets a lease of one request's timeout
 * and its attempt row, "in progress", in the same transaction. The deliveries' rows are locked as they
 * are read, so an erasure deleting them concurrently either waits for the claim or is not seen by it.
 */
export async function claimGroup(
  db: Database,
  endpointId: string,
  ids: string[],
  opts: { now: Date; concurrency: number; timeoutMs: number },
): Promise<GroupClaim> {
  return db.transaction(async (tx) => {
    const [endpoint] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).for("update");
    if (!endpoint) return { kind: "gone" };
    const rows = await tx
      .select()
      .from(webhookDeliveries)
      .where(and(inArray(webhookDeliveries.id, ids), eq(webhookDeliveries.endpointId, endpointId)))
      .for("update");
    const open = rows.filter((r) => r.status === "pending" || (r.status === "delivering" && (!r.leaseUntil || r.leaseUntil <= opts.now)));
    if (open.length === 0) return { kind: "gone" };
    if (!endpoint.enabled) return { kind: "disabled", failed: open };
    const [held] = await tx
      .select({ until: sql<Date>`max(${webhookDeliveries.leaseUntil})` })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.endpointId, endpointId),
          eq(webhookDeliveries.status, "delivering"),
          gt(webhookDeliveries.leaseUntil, opts.now),
          sql`${webhookDeliveries.id} not in ${ids}`,
        ),
      );
    if (held?.until) return { kind: "busy", retryAt: new Date(held.until), struggling: struggling(endpoint, opts.now) };

    const notDue = open.filter((r) => r.nextAttemptAt > opts.now).map((r) => ({ id: r.id, at: r.nextAttemptAt }));
    const due = open.filter((r) => r.nextAttemptAt <= opts.now);
    const waiting = new Set(
      (
        await tx.execute<{ id: string }>(sql`
          select d.id from webhook_deliveries d
          where d.id in ${due.length ? due.map((r) => r.id) : [null]} and exists (
            select 1 from webhook_deliveries e
            where e.endpoint_id = d.endpoint_id and e.subscriber_id = d.subscriber_id
              and e.subscriber_version < d.subscriber_version and e.status in ('pending', 'delivering'))`)
      ).rows.map((r) => r.id),
    );
    const ready = due.filter((r) => !waiting.has(r.id));
    ready.sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || (a.id < b.id ? -1 : 1));
    const cap = struggling(endpoint, opts.now) ? 1 : opts.concurrency;
    const go = ready.slice(0, cap);
    const deferred = ready.slice(cap).map((r) => r.id);
    const none: GroupClaim = { kind: "claimed", endpoint, claimed: [], notDue, blocked: [...waiting], deferred };
    if (go.length === 0) return none;

    const leaseUntil = new Date(opts.now.getTime() + opts.timeoutMs + 5_000);
    const goIds = go.map((r) => r.id);
    const claimedRows = await tx
      .update(webhookDeliveries)
      .set({ status: "delivering", leaseUntil })
      .where(inArray(webhookDeliveries.id, goIds))
      .returning();
    if (claimedRows.length === 0) return none;
    const attempts = await tx
      .insert(webhookAttempts)
      .values(claimedRows.map((d) => ({ deliveryId: d.id, attemptedAt: opts.now, durationMs: 0, error: "in progress" })))
      .returning({ id: webhookAttempts.id, deliveryId: webhookAttempts.deliveryId });
    const eventIds = claimedRows.flatMap((d) => (d.eventId === null ? [] : [d.eventId]));
    const events = new Map(
      (eventIds.length ? await tx.select().from(subscriberEvents).where(inArray(subscriberEvents.id, eventIds)) : []).map((e) => [e.id, e]),
    );
    const claimed: ClaimedDelivery[] = [];
    for (const d of claimedRows) {
      const event = d.eventId === null ? undefined : events.get(d.eventId);
      const body = event
        ? { type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data }
        : (d.payload as ClaimedDelivery["body"]);
      claimed.push({ delivery: d, attemptId: attempts.find((a) => a.deliveryId === d.id)!.id, body });
    }
    return { kind: "claimed", endpoint, claimed, notDue, blocked: [...waiting], deferred };
  });
}

export interface AttemptResult {
  attemptId: number;
  deliveryId: string;
  attempt: { attemptedAt: Date; durationMs: number; statusCode: number | null; error: string | null; responseBody: string | null };
  next: { status: "succeeded" | "failed" | "pending"; nextAttemptAt?: Date };
}

/** A group's attempts and the deliveries' new states, in one transaction, with the endpoint's new state. */
export async function recordGroup(
  db: Database,
  endpointId: string,
  results: AttemptResult[],
  endpointSet: Partial<typeof webhookEndpoints.$inferInsert> | undefined,
): Promise<void> {
  if (results.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).for("no key update");
    const attemptValues = sql.join(
      results.map(
        (r) =>
          sql`(${r.attemptId}::bigint, ${r.attempt.attemptedAt}::timestamptz, ${r.attempt.durationMs}::int, ${r.attempt.statusCode}::int, ${r.attempt.error}::text, ${r.attempt.responseBody}::text)`,
      ),
      sql`, `,
    );
    await tx.execute(sql`
      update webhook_attempts a set attempted_at = v.attempted_at, duration_ms = v.duration_ms, status_code = v.status_code,
        error = v.error, response_body = v.response_body
      from (values ${attemptValues}) as v(id, attempted_at, duration_ms, status_code, error, response_body) where a.id = v.id`);
    const deliveryValues = sql.join(
      results.map(
        (r) =>
          sql`(${r.deliveryId}::uuid, ${r.next.status}::text, ${r.next.nextAttemptAt ?? null}::timestamptz, ${r.attempt.statusCode}::int, ${r.attempt.error}::text, ${r.next.status === "pending" ? null : r.attempt.attemptedAt}::timestamptz)`,
      ),
      sql`, `,
    );
    await tx.execute(sql`
      update webhook_deliveries d set status = v.status, attempts = d.attempts + 1, lease_until = null,
        next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at), last_status_code = v.status_code,
        last_error = v.error, completed_at = v.completed_at
      from (values ${deliveryValues}) as v(id, status, next_attempt_at, status_code, error, completed_at) where d.id = v.id`);
    if (endpointSet) await tx.update(webhookEndpoints).set(endpointSet).where(eq(webhookEndpoints.id, endpointId));
  });
}
