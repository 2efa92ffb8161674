import type { Context } from "hono";
import type { Accepted } from "../../subscribers/index.ts";
import { awaitOperation, MAX_WAIT_SECONDS, writeResult } from "../../subscribers/index.ts";
import type { AppEnv } from "../context.ts";
import { localOperations } from "../operation-cache.ts";

/** RFC 7240 `wait`: the largest of the preferences' wait values, at most MAX_WAIT_SECONDS; 0 without one. */
function preferredWait(header: string | undefined): number {
  const m = header ? /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(header) : null;
  return m ? Math.min(Number(m[1]), MAX_WAIT_SECONDS) : 0;
}

/**
 * Every write answers the same way: 202 with the pending operation, or, under `Prefer: wait`, its
 * final result: the subscriber it created or changed, nothing for a delete or an erasure, or its
 * problem (thrown, as the one DomainError). Each route turns the result into its documented statuses.
 */
export async function outcome(c: Context<AppEnv>, { operation, replayed }: Accepted, preferHeader: string | undefined) {
  const wait = preferredWait(preferHeader);
  const headers: Record<string, string> = {};
  if (replayed) headers["Idempotent-Replayed"] = "true";
  if (wait > 0) {
    headers["Preference-Applied"] = `wait=${wait}`;
    headers.Vary = "Prefer";
  }
  const rt = c.get("rt");
  const latest = wait > 0 ? await awaitOperation(rt, operation, wait) : operation;
  // A finished outcome is kept where it was learnt; a pending one was kept when it was accepted.
  if (latest.status !== "pending") localOperations(c).keep({ operation: latest });
  const result = await writeResult(rt, c.get("principal")!, latest);
  const pendingHeaders = { ...headers, Location: `/v1/operations/${result.operation.id}` };
  return { result, headers, pendingHeaders };
}
