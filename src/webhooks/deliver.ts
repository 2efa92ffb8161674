import type { AttemptResult, ClaimedDelivery, WebhookDeliveryRow, WebhookEndpointRow } from "../db/repositories/webhooks.ts";
import {
  claimGroup,
  endpointsOfDeliveries,
  failDeliveries,
  nextInLine,
  overdueDeliveries,
  recordGroup,
} from "../db/repositories/webhooks.ts";
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
 * Sends a job per delivery to the webhook queue, each with its own delay. A failure is logged, not
 * thrown: the delivery is in Postgres and the sweeper enqueues it again (sweepDeliveries).
 */
async function enqueueJobs(rt: Runtime, jobs: Array<{ id: string; delaySeconds?: number }>): Promise<void> {
  for (let i = 0; i < jobs.length; i += 100) {
    const chunk = jobs.slice(i, i + 100);
    try {
      await rt.env.WEBHOOK_QUEUE.sendBatch(
        chunk.map(({ id, delaySeconds = 0 }) => {
          const delay = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
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

/** A busy endpoint is usually free again in milliseconds; its lease is only the worst case. */
const BUSY_RECHECK_SECONDS = 2;

export interface DeliveryReport {
  delivered: number;
  retrying: number;
  failed: number;
  waiting: number;
  skipped: number;
  db_retried: number;
}

/**
 * Consumer of webhook-deliveries. A batch's jobs are grouped by endpoint and each group is sent as a
 * unit (claimGroup): one claim transaction, the requests with at most WEBHOOK_ENDPOINT_CONCURRENCY in
 * flight, one transaction recording every attempt. Every job is acked; what happens next is a new job
 * (a retry at its scheduled time, or a subscriber's next version once the earlier one is done), so the
 * queue's own retry count never limits the delivery schedule. Only a database failure sends a job
 * back with the queue's retry.
 */
export async function consumeWebhookDeliveries(batch: MessageBatch<unknown>, rt: Runtime): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, retrying: 0, failed: 0, waiting: 0, skipped: 0, db_retried: 0 };
  const jobs = new Map<string, Message<unknown>[]>();
  for (const msg of batch.messages) {
    const parsed = DeliveryMessage.safeParse(msg.body);
    if (!parsed.success) {
      report.skipped++;
      msg.ack();
    } else jobs.set(parsed.data.delivery_id, [...(jobs.get(parsed.data.delivery_id) ?? []), msg]);
  }
  if (jobs.size === 0) return report;
  let endpoints: Map<string, string>;
  try {
    endpoints = await endpointsOfDeliveries(rt.db(), [...jobs.keys()]);
  } catch (err) {
    retryJobs(rt, [...jobs.values()].flat(), err, report);
    return report;
  }
  const groups = new Map<string, string[]>();
  for (const id of jobs.keys()) {
    const endpointId = endpoints.get(id);
    if (endpointId) groups.set(endpointId, [...(groups.get(endpointId) ?? []), id]);
    else report.skipped++; // deleted with its endpoint, or erased
  }
  await Promise.all(
    [...groups].map(async ([endpointId, ids]) => {
      try {
        await deliverGroup(rt, endpointId, ids, report);
      } catch (err) {
        retryJobs(
          rt,
          ids.flatMap((id) => jobs.get(id) ?? []),
          err,
          report,
        );
        for (const id of ids) jobs.delete(id);
      }
    }),
  );
  for (const msgs of jobs.values()) for (const m of msgs) m.ack();
  return report;
}

function retryJobs(rt: Runtime, msgs: Message<unknown>[], err: unknown, report: DeliveryReport): void {
  report.db_retried += msgs.length;
  rt.log.warn("webhook_delivery_deferred", { jobs: msgs.length, error: errorMessage(err) });
  for (const m of msgs) m.retry({ delaySeconds: retryDelaySeconds(m.attempts, rt.config.queueRetry) });
}

/** Rounds, because a delivery may wait on an earlier version of its subscriber in the same group. */
const MAX_ROUNDS = 5;

async function deliverGroup(rt: Runtime, endpointId: string, ids: string[], report: DeliveryReport): Promise<void> {
  const settings = rt.config.webhooks;
  let remaining = ids;
  for (let round = 0; round < MAX_ROUNDS && remaining.length > 0; round++) {
    const now = new Date();
    const claim = await claimGroup(rt.db(), endpointId, remaining, {
      now,
      concurrency: settings.endpointConcurrency,
      timeoutMs: settings.timeoutMs,
    });
    if (claim.kind === "gone") {
      report.skipped += remaining.length;
      return;
    }
    if (claim.kind === "busy") {
      report.waiting += remaining.length;
      await enqueueDeliveries(rt, remaining, Math.min(BUSY_RECHECK_SECONDS, Math.max(1, (claim.retryAt.getTime() - Date.now()) / 1000)));
      return;
    }
    if (claim.kind === "disabled") {
      await failDeliveries(
        rt.db(),
        claim.failed.map((d) => d.id),
        "endpoint disabled",
        now,
      );
      report.failed += claim.failed.length;
      await enqueueDeliveries(rt, await nextInLine(rt.db(), claim.failed));
      return;
    }
    await enqueueJobs(
      rt,
      claim.notDue.map(({ id, at }) => ({ id, delaySeconds: (at.getTime() - Date.now()) / 1000 })),
    );
    report.waiting += claim.notDue.length;
    if (claim.claimed.length === 0) {
      // Everything left waits for an earlier version: that version's job sends it (nextInLine), and
      // the sweeper covers a race between the two, so nothing polls meanwhile.
      report.waiting += claim.blocked.length;
      return;
    }
    const finished = await sendGroup(rt, claim.endpoint, claim.claimed, report);
    // Those that waited on a version finished here go in the next round; others' successors get a job.
    const blocked = new Set(claim.blocked);
    const successors = await nextInLine(rt.db(), finished);
    await enqueueDeliveries(
      rt,
      successors.filter((id) => !blocked.has(id)),
    );
    remaining = claim.blocked;
  }
  if (remaining.length > 0) await enqueueDeliveries(rt, remaining, 1);
}

/** Sends a claimed group with at most the endpoint's concurrency in flight; records it; returns the finished deliveries. */
async function sendGroup(
  rt: Runtime,
  endpoint: WebhookEndpointRow,
  claimed: ClaimedDelivery[],
  report: DeliveryReport,
): Promise<WebhookDeliveryRow[]> {
  const settings = rt.config.webhooks;
  const attempts: Attempt[] = new Array(claimed.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(settings.endpointConcurrency, claimed.length) }, async () => {
      while (next < claimed.length) {
        const i = next++;
        const c = claimed[i]!;
        attempts[i] = await send(rt, endpoint, c.delivery, JSON.stringify(c.body));
      }
    }),
  );

  const schedule = settings.retrySchedule;
  let failingSince = endpoint.failingSince;
  let endpointSet: Parameters<typeof recordGroup>[3];
  const results: AttemptResult[] = [];
  const retries: Array<{ id: string; delaySeconds: number }> = [];
  const finished: WebhookDeliveryRow[] = [];
  claimed.forEach((c, i) => {
    const attempt = attempts[i]!;
    const ok = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
    // Counted from where the schedule began: a manual redelivery gets the whole schedule again.
    const attemptsMade = c.delivery.attempts + 1 - c.delivery.scheduleFrom;
    let status: AttemptResult["next"]["status"];
    let nextAttemptAt: Date | undefined;
    if (ok) {
      status = "succeeded";
      failingSince = null;
    } else if (attempt.statusCode === 410) {
      status = "failed";
      endpointSet = { enabled: false, disabledReason: "the receiver answered 410 Gone", disabledAt: attempt.attemptedAt };
    } else {
      failingSince ??= attempt.attemptedAt;
      if (attemptsMade > schedule.length) status = "failed";
      else {
        status = "pending";
        // The schedule's step, jittered by ±20 % so a receiver's recovery is not met by a thundering herd.
        const delaySeconds = schedule[attemptsMade - 1]! * (0.8 + Math.random() * 0.4);
        nextAttemptAt = new Date(attempt.attemptedAt.getTime() + delaySeconds * 1000);
        retries.push({ id: c.delivery.id, delaySeconds });
      }
    }
    if (status !== "pending") finished.push(c.delivery);
    report[status === "succeeded" ? "delivered" : status === "failed" ? "failed" : "retrying"]++;
    results.push({
      attemptId: c.attemptId,
      deliveryId: c.delivery.id,
      attempt,
      next: { status, ...(nextAttemptAt ? { nextAttemptAt } : {}) },
    });
  });
  if (!endpointSet) {
    const now = new Date();
    if (failingSince && now.getTime() - failingSince.getTime() >= settings.disableAfterMs)
      endpointSet = { enabled: false, disabledReason: `failing since ${failingSince.toISOString()}`, disabledAt: now, failingSince };
    else if ((failingSince?.getTime() ?? null) !== (endpoint.failingSince?.getTime() ?? null)) endpointSet = { failingSince };
  }
  await recordGroup(rt.db(), endpoint.id, results, endpointSet);
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
