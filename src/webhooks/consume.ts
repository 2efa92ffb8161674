import { retryDelaySeconds } from "../config/retry.ts";
import type { GroupClaim } from "../db/repositories/webhook-claims.ts";
import { claimGroup, dueForEndpoint } from "../db/repositories/webhook-claims.ts";
import { endpointsOfDeliveries, failDeliveries, nextInLine } from "../db/repositories/webhooks.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import type { DeliveryReport } from "./deliver.ts";
import { enqueueDeliveries, enqueueJobs, sendGroup } from "./deliver.ts";
import { busyRecheckSeconds } from "./schedule.ts";
import { WebhookDeliveryMessage as DeliveryMessage } from "./schema.ts";

/**
 * Consumer of webhook-deliveries. A batch's jobs are grouped by endpoint, and each group is claimed
 * (claimGroup: one transaction, one round of at most the endpoint's concurrency) and acked as soon as
 * its claim commits. The requests and their record run after the handler has returned (`defer`,
 * ctx.waitUntil; queue consumers do not wait for it), each endpoint on its own: so the next batch,
 * and every other endpoint, never waits for a receiver that hangs. The claim is the durable part: a
 * lease and an "in progress" attempt, which the sweeper picks up again if the invocation dies while
 * sending. The endpoint's next rounds follow in the same deferred work while its budget lasts
 * (sendRounds); after that, what happens next is a new job (a retry at its time, what the rounds
 * left, a subscriber's next version), so the queue's own retry count never limits the schedule. Only a database failure sends a job back with the queue's retry.
 */
export async function consumeWebhookDeliveries(
  batch: MessageBatch<unknown>,
  rt: Runtime,
  defer: (work: Promise<unknown>) => void,
): Promise<DeliveryReport> {
  const started = Date.now();
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
  for (const [id, msgs] of jobs) {
    const endpointId = endpoints.get(id);
    if (endpointId) groups.set(endpointId, [...(groups.get(endpointId) ?? []), id]);
    else {
      report.skipped++; // deleted with its endpoint, or erased
      for (const m of msgs) m.ack();
    }
  }
  await Promise.all(
    [...groups].map(async ([endpointId, ids]) => {
      const msgs = ids.flatMap((id) => jobs.get(id) ?? []);
      let claim: Claimed | undefined;
      try {
        claim = await claimRound(rt, endpointId, ids, report);
      } catch (err) {
        retryJobs(rt, msgs, err, report);
        return;
      }
      for (const m of msgs) m.ack();
      if (claim)
        defer(
          sendRounds(rt, claim, started, report).catch((err: unknown) => {
            // Acked already: the lease runs out and the sweeper enqueues these deliveries again.
            report.db_retried++;
            rt.log.warn("webhook_round_failed", { deliveries: ids.length, error: errorMessage(err) });
          }),
        );
    }),
  );
  return report;
}

function retryJobs(rt: Runtime, msgs: Message<unknown>[], err: unknown, report: DeliveryReport): void {
  report.db_retried += msgs.length;
  rt.log.warn("webhook_delivery_deferred", { jobs: msgs.length, error: errorMessage(err) });
  for (const m of msgs) m.retry({ delaySeconds: retryDelaySeconds(m.attempts, rt.config.queueRetry) });
}

type Claimed = Extract<GroupClaim, { kind: "claimed" }>;

/**
 * How long after the batch arrived an endpoint's rounds may keep starting in this invocation: its
 * deferred work runs at most 30 s after the handler returns, and a round may take the whole timeout.
 */
const ROUNDS_BUDGET_MS = 25_000;
/** Due deliveries of the endpoint looked at for each next round (its concurrency takes the first). */
const NEXT_ROUND_LOOKAHEAD = 100;

/**
 * Sends an endpoint's claimed round, then its next ones while the budget lasts: what was over the
 * cap, the versions that waited on those just finished, and whatever else of this endpoint is due
 * (jobs that found it busy, retries come due). What is left when the budget runs out gets a job.
 */
async function sendRounds(rt: Runtime, first: Claimed, started: number, report: DeliveryReport): Promise<void> {
  const endpointId = first.endpoint.id;
  for (let claim = first; ; ) {
    const finished = await sendGroup(rt, claim.endpoint, claim.claimed, report);
    const owed = [...new Set([...claim.deferred, ...(await nextInLine(rt.db(), finished))])];
    if (Date.now() + rt.config.webhooks.timeoutMs > started + ROUNDS_BUDGET_MS) {
      await enqueueDeliveries(rt, owed);
      return;
    }
    const due = await dueForEndpoint(rt.db(), endpointId, new Date(), NEXT_ROUND_LOOKAHEAD);
    const next = [...new Set([...owed, ...due])];
    if (next.length === 0) return;
    const again = await claimRound(rt, endpointId, next, report);
    if (!again) return;
    claim = again;
  }
}

/** Claims one round for an endpoint; handles every other outcome of the claim itself. */
async function claimRound(rt: Runtime, endpointId: string, ids: string[], report: DeliveryReport): Promise<Claimed | undefined> {
  const settings = rt.config.webhooks;
  const now = new Date();
  const claim = await claimGroup(rt.db(), endpointId, ids, {
    now,
    concurrency: settings.endpointConcurrency,
    timeoutMs: settings.timeoutMs,
  });
  if (claim.kind === "gone") {
    report.skipped += ids.length;
    return undefined;
  }
  if (claim.kind === "busy") {
    report.waiting += ids.length;
    const leaseLeft = (claim.retryAt.getTime() - Date.now()) / 1000;
    await enqueueDeliveries(rt, ids, busyRecheckSeconds(leaseLeft, claim.struggling));
    return undefined;
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
    return undefined;
  }
  await enqueueJobs(
    rt,
    claim.notDue.map(({ id, at }) => ({ id, delaySeconds: (at.getTime() - Date.now()) / 1000 })),
  );
  // Those behind an earlier version are sent when it finishes (nextInLine), wherever it is; the
  // sweeper covers a race between the two, so nothing polls meanwhile.
  report.waiting += claim.notDue.length + claim.blocked.length + claim.deferred.length;
  if (claim.claimed.length === 0) {
    await enqueueDeliveries(rt, claim.deferred, 1);
    return undefined;
  }
  return claim;
}
