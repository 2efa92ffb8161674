import { z } from "zod";
import { SUBSCRIBER_EVENT_TYPES, WEBHOOK_DELIVERY_STATUSES } from "../db/schema.ts";

/**
 * The webhook resources' shapes: the single source of their types, validation and OpenAPI document.
 * Payloads follow the Standard Webhooks specification: `{type, timestamp, data}`, signed in the
 * `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
 */
const WEBHOOK_EVENT_TYPES = [...SUBSCRIBER_EVENT_TYPES, "webhook.test"] as const;
export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** Subscribed events: those a change can produce (webhook.test always reaches the endpoint it is sent to). */
const SubscribedEvents = z
  .array(z.enum(SUBSCRIBER_EVENT_TYPES))
  .min(1)
  .max(SUBSCRIBER_EVENT_TYPES.length)
  .transform((events) => [...new Set(events)]);

const Url = z
  .string()
  // The document's format; the service's own URL rules (below) are stricter.
  .meta({ format: "uri" })
  .trim()
  .max(2048)
  .meta({ description: "https (http and loopback only outside production); no private or link-local IP literals" });
const Description = z.string().trim().max(500);

export const WebhookEndpointInput = z
  .strictObject({ url: Url, events: SubscribedEvents, description: Description.optional() })
  .meta({ id: "WebhookEndpointInput" });
export type WebhookEndpointInput = z.infer<typeof WebhookEndpointInput>;

export const WebhookEndpointPatch = z
  .strictObject({
    url: Url.optional(),
    events: SubscribedEvents.optional(),
    description: Description.nullable().optional(),
    enabled: z.boolean().optional().meta({ description: "false disables the endpoint; true enables it again and clears the reason" }),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "give at least one field" })
  .meta({ id: "WebhookEndpointPatch", minProperties: 1 });
export type WebhookEndpointPatch = z.infer<typeof WebhookEndpointPatch>;

export const WebhookEndpoint = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.enum(SUBSCRIBER_EVENT_TYPES)),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    disabled_at: z.iso.datetime().nullable(),
    failing_since: z.iso.datetime().nullable(),
    previous_secret_expires_at: z.iso.datetime().nullable().meta({ description: "Until then the previous secret signs too" }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: "WebhookEndpoint" });
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const WebhookEndpointWithSecret = WebhookEndpoint.extend({
  secret: z.string().meta({ description: "whsec_…: shown only in this response; verify signatures with it" }),
}).meta({ id: "WebhookEndpointWithSecret" });
export type WebhookEndpointWithSecret = z.infer<typeof WebhookEndpointWithSecret>;

const WebhookAttempt = z
  .object({
    attempted_at: z.iso.datetime(),
    duration_ms: z.number().int(),
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    response_body: z.string().nullable().meta({ description: "The first 1 KB of the answer" }),
  })
  .meta({ id: "WebhookAttempt" });

export const WebhookDelivery = z
  .object({
    id: z.uuid(),
    endpoint_id: z.uuid(),
    webhook_id: z.string().meta({ description: "The webhook-id header: the same on every attempt of this event" }),
    type: WebhookEventType,
    subscriber_id: z.uuid().nullable(),
    subscriber_version: z.number().int().nullable(),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    attempts: z.number().int(),
    next_attempt_at: z.iso.datetime().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.iso.datetime(),
    completed_at: z.iso.datetime().nullable(),
    attempt_log: z.array(WebhookAttempt),
  })
  .meta({ id: "WebhookDelivery" });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** What the queue carries: only the id; everything else is read from Postgres when it is its turn. */
export const WebhookDeliveryMessage = z.object({ type: z.literal("webhook.deliver"), v: z.literal(1), delivery_id: z.uuid() });
export type WebhookDeliveryMessage = z.infer<typeof WebhookDeliveryMessage>;
