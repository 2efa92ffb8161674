import { v7 as uuidv7 } from "uuid";
import type { EndpointWriteRefusal } from "../db/repositories/webhook-endpoints.ts";
import {
  deleteEndpointRetrying,
  insertDeliveryForEndpoint,
  reopenDeliveryOfEndpoint,
  swapSecret,
} from "../db/repositories/webhook-endpoints.ts";
import type { WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow } from "../db/repositories/webhooks.ts";
import { findEndpoint, insertEndpoint, listDeliveries, listEndpoints, updateEndpoint } from "../db/repositories/webhooks.ts";
import { DomainError } from "../lib/errors.ts";
import type { Page } from "../lib/pagination.ts";
import { rowsForPage, toPage } from "../lib/pagination.ts";
import type { Runtime } from "../runtime.ts";
import { enqueueDeliveries } from "./deliver.ts";
import type {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointInput,
  WebhookEndpointPatch,
  WebhookEndpointWithSecret,
  WebhookEventType,
} from "./schema.ts";
import { newWebhookSecret } from "./signing.ts";
import { checkWebhookUrl } from "./url-safety.ts";

const iso = (d: Date | null) => d?.toISOString() ?? null;

function toEndpointView(row: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events as WebhookEndpoint["events"],
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    disabled_at: iso(row.disabledAt),
    failing_since: iso(row.failingSince),
    previous_secret_expires_at:
      row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
        ? iso(row.previousSecretExpiresAt)
        : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function toDeliveryView(row: WebhookDeliveryRow & { attemptLog?: WebhookAttemptRow[] }): WebhookDelivery {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    webhook_id: row.messageId,
    type: row.type as WebhookEventType,
    subscriber_id: row.subscriberId,
    subscriber_version: row.subscriberVersion,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === "pending" ? row.nextAttemptAt.toISOString() : null,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    created_at: row.createdAt.toISOString(),
    completed_at: iso(row.completedAt),
    attempt_log: (row.attemptLog ?? []).map((a) => ({
      attempted_at: a.attemptedAt.toISOString(),
      duration_ms: a.durationMs,
      status_code: a.statusCode,
      error: a.error,
      response_body: a.responseBody,
    })),
  };
}

const noEndpoint = () => new DomainError("not_found", "No webhook endpoint has this id.");

async function endpointOrNotFound(rt: Runtime, id: string): Promise<WebhookEndpointRow> {
  const row = await findEndpoint(rt.db(), id);
  if (!row) throw noEndpoint();
  return row;
}

/** A write beside an endpoint that did not happen, as the problem its caller gets. */
function refused(why: EndpointWriteRefusal): DomainError {
  if (why === "no_endpoint") return noEndpoint();
  if (why === "no_delivery") return new DomainError("not_found", "This endpoint has no delivery with this id.");
  if (why === "disabled") return new DomainError("conflict", "The endpoint is disabled; enable it first.");
  return new DomainError("conflict", "An attempt of this delivery is in progress.");
}

export async function createEndpoint(rt: Runtime, input: WebhookEndpointInput): Promise<WebhookEndpointWithSecret> {
  const url = checkWebhookUrl(input.url, rt.config.webhooks.allowInsecure);
  const secret = newWebhookSecret();
  const row = await insertEndpoint(rt.db(), {
    id: uuidv7(),
    url: url.href,
    description: input.description ?? null,
    events: input.events,
    secret,
  });
  return { ...toEndpointView(row), secret };
}

/** Oldest first; the cursor is the last endpoint's id. */
export async function listEndpointPage(rt: Runtime, q: { limit: number; cursor?: string | undefined }): Promise<Page<WebhookEndpoint>> {
  const rows = await listEndpoints(rt.db(), { rows: rowsForPage(q.limit), after: q.cursor });
  return toPage(rows, q.limit, toEndpointView, (last) => last.id);
}

export async function getEndpoint(rt: Runtime, id: string): Promise<WebhookEndpoint> {
  return toEndpointView(await endpointOrNotFound(rt, id));
}

export async function patchEndpoint(rt: Runtime, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpoint> {
  await endpointOrNotFound(rt, id);
  const set: Parameters<typeof updateEndpoint>[2] = {};
  if (patch.url !== undefined) set.url = checkWebhookUrl(patch.url, rt.config.webhooks.allowInsecure).href;
  if (patch.events !== undefined) set.events = patch.events;
  if (patch.description !== undefined) set.description = patch.description;
  if (patch.enabled === true) Object.assign(set, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
  if (patch.enabled === false) Object.assign(set, { enabled: false, disabledReason: "disabled by an operator", disabledAt: new Date() });
  const row = await updateEndpoint(rt.db(), id, set);
  if (!row) throw noEndpoint();
  return toEndpointView(row);
}

/** Its deliveries and their log go with it. */
export async function removeEndpoint(rt: Runtime, id: string): Promise<void> {
  if (!(await deleteEndpointRetrying(rt.db(), id))) throw noEndpoint();
}

/** A new secret, shown once; the old one keeps signing (beside the new one) for the overlap. */
export async function rotateSecret(rt: Runtime, id: string): Promise<WebhookEndpointWithSecret> {
  const secret = newWebhookSecret();
  const row = await swapSecret(rt.db(), id, secret, new Date(Date.now() + rt.config.webhooks.secretOverlapMs));
  if (!row) throw noEndpoint();
  return { ...toEndpointView(row), secret };
}

/** Sends `webhook.test` to this endpoint, whether or not it is enabled for other events. */
export async function sendTestEvent(rt: Runtime, id: string): Promise<WebhookDelivery> {
  const deliveryId = uuidv7();
  const row = await insertDeliveryForEndpoint(rt.db(), {
    id: deliveryId,
    endpointId: id,
    messageId: `evt_test_${deliveryId}`,
    type: "webhook.test",
    payload: { type: "webhook.test", timestamp: new Date().toISOString(), data: { endpoint_id: id } },
  });
  if (typeof row === "string") throw refused(row);
  await enqueueDeliveries(rt, [deliveryId]);
  return toDeliveryView(row);
}

/** Newest first; the cursor is the last delivery's id. */
export async function listDeliveryPage(
  rt: Runtime,
  id: string,
  q: { limit: number; cursor?: string | undefined },
): Promise<Page<WebhookDelivery>> {
  await endpointOrNotFound(rt, id);
  const rows = await listDeliveries(rt.db(), { endpointId: id, rows: rowsForPage(q.limit), before: q.cursor });
  return toPage(rows, q.limit, toDeliveryView, (last) => last.id);
}

/** Sends a delivery again now, under the same webhook-id, with the whole retry schedule; its attempts continue in the same log. */
export async function redeliver(rt: Runtime, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
  const row = await reopenDeliveryOfEndpoint(rt.db(), endpointId, deliveryId, new Date());
  if (typeof row === "string") throw refused(row);
  await enqueueDeliveries(rt, [deliveryId]);
  return toDeliveryView(row);
}
