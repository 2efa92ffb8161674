import { v7 as uuidv7 } from "uuid";
import { relayEventBatch } from "../db/repositories/webhooks.ts";
import type { Runtime } from "../runtime.ts";
import { enqueueDeliveries } from "./deliver.ts";

const BATCH = 500;
/** Bounds one run; what is left is relayed by the next trigger. */
const MAX_BATCHES = 20;

/**
 * The outbox relay: every subscriber change wrote its event in its own transaction; this turns events
 * into deliveries (one per subscribed endpoint) and enqueues a job for each. It runs after every
 * consumer batch that applied changes and every minute from the cron, so an event whose Worker died
 * between commit and relay is picked up by the next run: nothing is lost between the two. One relay
 * runs at a time (an advisory lock), in event order, which is what keeps a subscriber's deliveries in
 * version order. A job that cannot be enqueued is found by the sweeper (sweepDeliveries).
 */
export async function relayWebhookEvents(rt: Runtime): Promise<{ events: number; deliveries: number; busy?: true }> {
  let events = 0;
  let deliveries = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const batch = await relayEventBatch(rt.db(), BATCH, uuidv7);
    if (!batch) return { events, deliveries, busy: true };
    events += batch.events;
    deliveries += batch.deliveries.length;
    await enqueueDeliveries(
      rt,
      batch.deliveries.map((d) => d.id),
    );
    if (batch.events < BATCH) break;
  }
  return { events, deliveries };
}
