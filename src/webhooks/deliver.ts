import type { AttemptResult, ClaimedDelivery } from "../db/repositories/webhook-claims.ts";
import { recordGroup } from "../db/repositories/webhook-claims.ts";
import type { WebhookDeliveryRow, WebhookEndpointRow } from "../db/repositories/webhooks.ts";
import { overdueDeliveries } from "../db/repositories/webhooks.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { decideRound, queueDelaySeconds } from "./schedule.ts";
import type { WebhookDeliveryMessage } from "./schema.ts";
import { signedHeaders } from "./signing.ts";
import { checkWebhookUrl } from "./url-safety.ts";

/** What is kept of a receiver's answer: enough to show in the delivery log. */
const RESPONSE_KEEP_BYTES = 1024;

/**
 * Sends a job per delivery to the webhook queue, each with its own delay. A failure is logged, not
 * thrown: the delivery is in Postgres and the sweeper enqueues it again (sweepDeliveries).
 */
export async function enqueueJobs(rt: Runtime, jobs: Array<{ id: string; delaySeconds?: number }>): Promise<void> {
  for (let i = 0; i < jobs.length; i += 100) {
    const chunk = jobs.slice(i, i + 100);
    try {
      await rt.queues.webhookDeliveries.sendBatch(
        chunk.map(({ id, delaySeconds = 0 }) => {
          const delay = queueDelaySeconds(delaySeconds);
          return {
            body: { type: "webhook.deliver", v: 1, delivery_id: id } satisfies WebhookDeliveryMessage,
            contentType: "json" as const,
            ...(delay > 0 ? { delaySeconds: delay } : {}),
          };
        }),
      );
    } catch (err) {
      rt.log.warn("webhook_enqueue_failed", { deliveries: chunk.length, error: errorMessage(err) });
    }
  }
}

/** The same delay for every delivery. */
export const enqueueDeliveries = (rt: Runtime, ids: string[], delaySeconds = 0) =>
  enqueueJobs(
    rt,
    ids.map((id) => ({ id, delaySeconds })),
  );

export interface DeliveryReport {
  delivered: number;
  retrying: number;
  failed: number;
  waiting: number;
  skipped: number;
  db_retried: number;
}

/** Sends a claimed round (all at once: the claim capped it); records it; returns the finished deliveries. */
export async function sendGroup(
  rt: Runtime,
  endpoint: WebhookEndpointRow,
  claimed: ClaimedDelivery[],
  report: DeliveryReport,
): Promise<WebhookDeliveryRow[]> {
  const settings = rt.config.webhooks;
  const attempts = await Promise.all(claimed.map((c) => send(rt, endpoint, c.delivery, JSON.stringify(c.body))));

  const round = decideRound(
    endpoint,
    claimed.map((c, i) => ({
      statusCode: attempts[i]!.statusCode,
      attemptedAt: attempts[i]!.attemptedAt,
      attempts: c.delivery.attempts,
      scheduleFrom: c.delivery.scheduleFrom,
    })),
    settings,
    () => new Date(),
  );
  const results: AttemptResult[] = [];
  const retries: Array<{ id: string; delaySeconds: number }> = [];
  const finished: WebhookDeliveryRow[] = [];
  claimed.forEach((c, i) => {
    const decision = round.decisions[i]!;
    const { status } = decision;
    if (decision.status === "pending") retries.push({ id: c.delivery.id, delaySeconds: decision.delaySeconds });
    else finished.push(c.delivery);
    report[status === "succeeded" ? "delivered" : status === "failed" ? "failed" : "retrying"]++;
    results.push({
      attemptId: c.attemptId,
      deliveryId: c.delivery.id,
      attempt: attempts[i]!,
      next: { status, ...(decision.status === "pending" ? { nextAttemptAt: decision.nextAttemptAt } : {}) },
    });
  });
  await recordGroup(rt.db(), endpoint.id, results, round.endpoint);
  await enqueueJobs(rt, retries);
  return finished;
}

interface Attempt {
  attemptedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
}

/** One signed POST: no redirects followed, a deadline for the whole exchange, the first 1 KB kept. */
async function send(rt: Runtime, endpoint: WebhookEndpointRow, delivery: WebhookDeliveryRow, body: string): Promise<Attempt> {
  const attemptedAt = new Date();
  const started = performance.now();
  const settings = rt.config.webhooks;
  const done = (a: Omit<Attempt, "attemptedAt" | "durationMs">): Attempt => ({
    attemptedAt,
    durationMs: Math.round(performance.now() - started),
    ...a,
  });
  let url: URL;
  try {
    url = checkWebhookUrl(endpoint.url, settings.allowInsecure);
  } catch {
    return done({ statusCode: null, error: "url refused", responseBody: null });
  }
  const secrets = [endpoint.secret];
  if (endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > attemptedAt)
    secrets.push(endpoint.previousSecret);
  const signal = AbortSignal.timeout(settings.timeoutMs);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "edge-api-webhooks/1",
        ...signedHeaders(secrets, delivery.messageId, attemptedAt, body),
      },
      body,
      redirect: "manual",
      signal,
    });
    return done({
      statusCode: res.status,
      error: res.status >= 300 && res.status < 400 ? "redirect not followed" : null,
      responseBody: await head(res),
    });
  } catch (err) {
    const timedOut = signal.aborted;
    return done({
      statusCode: null,
      error: timedOut ? `timeout after ${settings.timeoutMs} ms` : `request failed: ${errorMessage(err).slice(0, 200)}`,
      responseBody: null,
    });
  }
}

/** The first RESPONSE_KEEP_BYTES of a body as text; the rest is not read. */
async function head(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_KEEP_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut short is still worth what arrived.
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, RESPONSE_KEEP_BYTES));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
    if (offset >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes).replaceAll("\u0000", "");
}

/**
 * Cron: jobs lost between Postgres and the queue (an enqueue that failed, a consumer that died while
 * holding a lease) are enqueued again. A duplicate job is harmless: the claim lets one through.
 */
export async function sweepDeliveries(rt: Runtime, now: Date): Promise<{ requeued: number }> {
  const ids = await overdueDeliveries(rt.db(), new Date(now.getTime() - 60_000), 1_000);
  await enqueueDeliveries(rt, ids);
  return { requeued: ids.length };
}
