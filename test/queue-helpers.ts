import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ilike, inArray } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import type { DbHandle } from "../src/db/client.ts";
import { operations, subscribers } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import type {
  SubscriberCreateMessage,
  SubscriberDeleteMessage,
  SubscriberForgetMessage,
  SubscriberUpdateMessage,
} from "../src/subscribers/messages.ts";
import { waitFor } from "./helpers.ts";

/** A well-formed create message, as the edge would enqueue it. */
export function subscriberMessage(email: string, overrides: Partial<SubscriberCreateMessage["subscriber"]> = {}): SubscriberCreateMessage {
  return {
    type: "subscriber.create",
    v: 1,
    // UUIDv7, as the edge gives them: their order is the order of acceptance.
    operation_id: uuidv7(),
    requested_at: new Date().toISOString(),
    subscriber: { id: uuidv7(), email, name: "Ada", last_name: "Lovelace", status: "active", ...overrides },
  };
}

/** Delivers one batch to the Worker's queue handler, as the runtime would, and returns what it acked and retried. */
export async function runBatch(bodies: unknown[], opts: { attempts?: number; env?: Env; queue?: string } = {}) {
  const batch = createMessageBatch(
    opts.queue ?? "subscriber-writes",
    bodies.map((body, i) => ({ id: `m-${crypto.randomUUID()}-${i}`, timestamp: new Date(), attempts: opts.attempts ?? 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, opts.env ?? env, ctx);
  return { batch, result: await getQueueResult(batch, ctx) };
}

/** Subscribers whose email is at `domain`; ilike because a case variant may be the one stored. */
export const storedIn = (db: DbHandle, domain: string) =>
  db.db
    .select()
    .from(subscribers)
    .where(ilike(subscribers.email, `%@${domain}`))
    .orderBy(subscribers.email);

/** The recorded outcomes of these operations (none for one still pending). */
export const operationsOf = (db: DbHandle, ids: string[]) => db.db.select().from(operations).where(inArray(operations.id, ids));

export async function waitForOperations(db: DbHandle, ids: string[], timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const rows = await operationsOf(db, ids);
      return rows.length === new Set(ids).size ? rows : undefined;
    },
    timeoutMs,
    `${ids.length} operation outcomes`,
  );
}

type ChangeOptions = { operationId?: string; ifMatch?: number };

/** An update as the edge would enqueue it; `operationId` lets a test give an older (or newer) place in the order. */
export function updateMessage(
  subscriberId: string,
  changes: SubscriberUpdateMessage["changes"],
  opts: ChangeOptions = {},
): SubscriberUpdateMessage {
  return {
    type: "subscriber.update",
    v: 1,
    operation_id: opts.operationId ?? uuidv7(),
    requested_at: new Date().toISOString(),
    subscriber_id: subscriberId,
    changes,
    ...(opts.ifMatch ? { if_match: opts.ifMatch } : {}),
  };
}

export function deleteMessage(subscriberId: string, opts: ChangeOptions = {}): SubscriberDeleteMessage {
  return {
    type: "subscriber.delete",
    v: 1,
    operation_id: opts.operationId ?? uuidv7(),
    requested_at: new Date().toISOString(),
    subscriber_id: subscriberId,
    ...(opts.ifMatch ? { if_match: opts.ifMatch } : {}),
  };
}

export function forgetMessage(target: { id?: string; email?: string }, opts: ChangeOptions = {}): SubscriberForgetMessage {
  return {
    type: "subscriber.forget",
    v: 1,
    operation_id: opts.operationId ?? uuidv7(),
    requested_at: new Date().toISOString(),
    ...(target.id ? { subscriber_id: target.id } : {}),
    ...(target.email ? { email: target.email } : {}),
  };
}
