/** The webhooks capability's public module: the outbox relay, its consumer and its sweep. */
export { consumeWebhookDeliveries } from "./consume.ts";
export { sweepDeliveries } from "./deliver.ts";
export { relayWebhookEvents } from "./relay.ts";
