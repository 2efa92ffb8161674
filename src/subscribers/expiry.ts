import type { Config } from "../config/index.ts";
import { retryBudgetSeconds } from "../config/retry.ts";
import { operationErrorMessages } from "./model.ts";
import type { Operation } from "./schema.ts";

/** When a UUIDv7 was made: its first 48 bits are Unix milliseconds. Operation ids are UUIDv7s minted at acceptance. */
export function acceptedAt(operationId: string): number {
  return Number.parseInt(operationId.replaceAll("-", "").slice(0, 12), 16);
}

/**
 * How long a write may stay pending: its retry budget (then it is dead-lettered and kept), plus how
 * long a queue keeps a message. Past that, no queue holds its message any more (a local stack
 * restarted without its journal, a message lost anyhow): the operation can never get an outcome.
 */
export const pendingLimitMs = (config: Config) => (retryBudgetSeconds(config.queueRetry) + config.queueRetentionSeconds) * 1000;

/**
 * A pending operation older than the limit reads as failed, `expired`: decided at read time from its
 * id, so it costs nothing until someone asks. Nothing was stored; the client should send the request
 * again (with a new Idempotency-Key: the old one replays this answer).
 */
export function expireIfLost(op: Operation, config: Config, now = Date.now()): Operation {
  if (op.status !== "pending") return op;
  const accepted = acceptedAt(op.id);
  const limit = pendingLimitMs(config);
  if (!Number.isFinite(accepted) || now - accepted <= limit) return op;
  return {
    ...op,
    status: "failed",
    error: { code: "expired", message: operationErrorMessages.expired },
    completed_at: new Date(accepted + limit).toISOString(),
  };
}
