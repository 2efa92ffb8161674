/** The webhooks capability's public module: the endpoints API, the outbox relay, its consumer and its sweep. */
export { consumeWebhookDeliveries } from "./consume.ts";
export { sweepDeliveries } from "./deliver.ts";
export { relayWebhookEvents } from "./relay.ts";
export { WebhookDelivery, WebhookEndpoint, WebhookEndpointInput, WebhookEndpointPatch, WebhookEndpointWithSecret } from "./schema.ts";
export {
  createEndpoint,
  getEndpoint,
  listDeliveryPage,
  listEndpointPage,
  patchEndpoint,
  redeliver,
  removeEndpoint,
  rotateSecret,
  sendTestEvent,
} from "./service.ts";
