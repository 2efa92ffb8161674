import type { WebhookDeliveryRow, WebhookEndpointRow } from "../db/repositories/webhooks.ts";
import { claimDelivery, failDelivery, nextInLine, overdueDeliveries, recordAttempt } from "../db/repositories/webhooks.ts";
import { errorMessage } from "../lib/log.ts";
import { retryDelaySeconds } from "../queue/retry.ts";
import type { Runtime } from "../runtime.ts";
import type { WebhookDeliveryMessage } from "./schema.ts";
import { WebhookDeliveryMessage as DeliveryMessage } from "./schema.ts";
import { signedHeaders } from "./signing.ts";
import { checkWebhookUrl } from "./url-safety.ts";

/** What is kept of a receiver's answer: enough to show in the delivery log. */
const RESPONSE_KEEP_BYTES = 1024;
/** Cloudflare Queues delays a message by at most 12 hours. */
const MAX_QUEUE_DELAY_SECONDS = 43_200;

/**
 * Sends a job per delivery to the webhook queue, optionally delayed. A failure is logged, not thrown:
 * the delivery is in Postgres and the sweeper enqueues it again (sweepDeliveries).
 */
export async function enqueueDeliveries(rt: Runtime, ids: string[], delaySeconds = 0): Promise<void> {
  const delay = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    try {
      await rt.env.WEBHOOK_QUEUE.sendBatch(
        chunk.map((id) => ({
          body: { type: "webhook.deliver", v: 1, delivery_id: id } satisfies WebhookDeliveryMessage,
          contentType: "json" as const,
          ...(delay > 0 ? { delaySeconds: delay } : {}),
        })),
      );
    } catch (err) {
      rt.log.warn("webhook_enqueue_failed", { deliveries: chunk.length, error: errorMessage(err) });
    }
  }
}

export interface DeliveryReport {
  delivered: number;
  retrying: number;
  failed: number;
  waiting: number;
  skipped: number;
  db_retried: number;
}

/**
 * Consumer of webhook-deliveries: one attempt per job. Every job is acked; what happens next is a
 * new job (a retry at its scheduled time, or the subscriber's next version once this one is done),
 * so the queue's own retry count never limits the delivery schedule. Only a database failure sends
 * the job back with the queue's retry.
 */
export async function consumeWebhookDeliveries(batch: MessageBatch<unknown>, rt: Runtime): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, retrying: 0, failed: 0, waiting: 0, skipped: 0, db_retried: 0 };
  await Promise.all(
    batch.messages.map(async (msg) => {
      const parsed = DeliveryMessage.safeParse(msg.body);
      if (!parsed.success) {
        report.skipped++;
        msg.ack();
        return;
      }
      try {
        const outcome = await attemptDelivery(rt, parsed.data.delivery_id);
        report[outcome]++;
        msg.ack();
      } catch (err) {
        report.db_retried++;
        rt.log.warn("webhook_delivery_deferred", { error: errorMessage(err) });
        msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, rt.config.queueRetry) });
      }
    }),
  );
  return report;
}

type Outcome = "delivered" | "retrying" | "failed" | "waiting" | "skipped";

async function attemptDelivery(rt: Runtime, id: string): Promise<Outcome> {
  const settings = rt.config.webhooks;
  const now = new Date();
  const claim = await claimDelivery(rt.db(), id, { concurrency: settings.endpointConcurrency, leaseMs: settings.timeoutMs + 5_000, now });
  switch (claim.kind) {
    case "gone":
      return "skipped";
    case "endpoint_disabled":
      await failDelivery(rt.db(), id, "endpoint disabled", now);
      return "failed";
    case "wait":
      // Waiting for an earlier version: the job that finishes it sends this one (nextInLine), and the
      // sweeper covers a race between the two, so no job polls meanwhile. Otherwise, come back when due.
      if (claim.reason !== "ordering") await enqueueDeliveries(rt, [id], Math.max(1, (claim.retryAt.getTime() - Date.now()) / 1000));
      return "waiting";
  }
  const { delivery, endpoint, body } = claim;
  const attempt = await send(rt, endpoint, delivery, JSON.stringify(body));
  const ok = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
  const attemptsMade = delivery.attempts + 1;
  const schedule = settings.retrySchedule;

  if (ok) {
    await recordAttempt(
      rt.db(),
      delivery,
      attempt,
      { status: "succeeded" },
      { id: endpoint.id, set: endpoint.failingSince ? { failingSince: null } : undefined },
    );
  } else if (attempt.statusCode === 410) {
    await recordAttempt(
      rt.db(),
      delivery,
      attempt,
      { status: "failed" },
      {
        id: endpoint.id,
        set: { enabled: false, disabledReason: "the receiver answered 410 Gone", disabledAt: attempt.attemptedAt },
      },
    );
  } else {
    const failingSince = endpoint.failingSince ?? attempt.attemptedAt;
    const failingTooLong = attempt.attemptedAt.getTime() - failingSince.getTime() >= settings.disableAfterMs;
    const endpointSet = failingTooLong
      ? { enabled: false, disabledReason: `failing since ${failingSince.toISOString()}`, disabledAt: attempt.attemptedAt, failingSince }
      : endpoint.failingSince
        ? undefined
        : { failingSince };
    if (attemptsMade > schedule.length) {
      await recordAttempt(rt.db(), delivery, attempt, { status: "failed" }, { id: endpoint.id, set: endpointSet });
    } else {
      // Exponential steps from the schedule, jittered by ±20 % so a receiver's recovery is not met by a thundering herd.
      const delaySeconds = schedule[attemptsMade - 1]! * (0.8 + Math.random() * 0.4);
      const nextAttemptAt = new Date(attempt.attemptedAt.getTime() + delaySeconds * 1000);
      await recordAttempt(rt.db(), delivery, attempt, { status: "pending", nextAttemptAt }, { id: endpoint.id, set: endpointSet });
      await enqueueDeliveries(rt, [delivery.id], delaySeconds);
      return "retrying";
    }
  }
  // Finished (delivered or given up): the subscriber's next version to this endpoint may go now.
  const next = await nextInLine(rt.db(), delivery);
  if (next) await enqueueDeliveries(rt, [next]);
  return ok ? "delivered" : "failed";
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
