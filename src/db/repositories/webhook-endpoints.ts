import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../client.ts";
import { pgErrorCode } from "../errors.ts";
import { webhookDeliveries, webhookEndpoints } from "../schema.ts";
import type { WebhookDeliveryRow, WebhookEndpointRow } from "./webhooks.ts";

// Writes beside an endpoint that a DELETE of it may overtake. Each holds the endpoint row (FOR KEY
// SHARE, which a DELETE conflicts with and a PATCH does not) for the rest of its transaction, so a
// concurrent DELETE either waits for it and then cascades over what it wrote, or has already
// committed and the write finds no endpoint: never a foreign-key violation, never a half-written answer.

/** Why a write beside an endpoint did not happen. */
export type EndpointWriteRefusal = "no_endpoint" | "disabled" | "no_delivery" | "in_progress";

const holdEndpoint = (tx: Pick<Database, "select">, id: string) =>
  tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).for("key share");

/** Inserts a delivery for an existing, enabled endpoint. */
export async function insertDeliveryForEndpoint(
  db: Database,
  row: typeof webhookDeliveries.$inferInsert,
): Promise<WebhookDeliveryRow | EndpointWriteRefusal> {
  return db.transaction(async (tx) => {
    const [endpoint] = await holdEndpoint(tx, row.endpointId);
    if (!endpoint) return "no_endpoint";
    if (!endpoint.enabled) return "disabled";
    const [created] = await tx.insert(webhookDeliveries).values(row).returning();
    return created!;
  });
}

/** Makes a finished (or pending) delivery of an enabled endpoint due again now; an attempt in flight is left alone. */
export async function reopenDeliveryOfEndpoint(
  db: Database,
  endpointId: string,
  deliveryId: string,
  now: Date,
): Promise<WebhookDeliveryRow | EndpointWriteRefusal> {
  return db.transaction(async (tx) => {
    const [endpoint] = await holdEndpoint(tx, endpointId);
    if (!endpoint) return "no_endpoint";
    if (!endpoint.enabled) return "disabled";
    const [delivery] = await tx
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)))
      .for("update");
    if (!delivery) return "no_delivery";
    if (delivery.status === "delivering") return "in_progress";
    const [reopened] = await tx
      .update(webhookDeliveries)
      .set({ status: "pending", nextAttemptAt: now, completedAt: null, leaseUntil: null, scheduleFrom: sql`${webhookDeliveries.attempts}` })
      .where(eq(webhookDeliveries.id, deliveryId))
      .returning();
    return reopened!;
  });
}

/** A new secret in one statement: the current one becomes the previous one; undefined when the endpoint is gone. */
export async function swapSecret(
  db: Database,
  id: string,
  secret: string,
  previousExpiresAt: Date,
): Promise<WebhookEndpointRow | undefined> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ secret, previousSecret: sql`${webhookEndpoints.secret}`, previousSecretExpiresAt: previousExpiresAt, updatedAt: new Date() })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  return row;
}

/** Deadlocks and serialization failures: Postgres gave up one side of a race, which may simply run again. */
const RETRIABLE = new Set(["40P01", "40001"]);
const ATTEMPTS = 3;

/**
 * Deletes an endpoint with its deliveries and their log. The cascade takes the endpoint's row and
 * then its deliveries' rows, while recording an attempt takes them the other way round, so Postgres
 * may break a deadlock by failing the delete: it is run again, a bounded number of times.
 */
export async function deleteEndpointRetrying(db: Database, id: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const rows = await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id });
      return rows.length > 0;
    } catch (err) {
      const code = pgErrorCode(err);
      if (attempt >= ATTEMPTS || !code || !RETRIABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
