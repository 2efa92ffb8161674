import type { Read } from "../cache/read-through.ts";
import { readThrough, safeDelete } from "../cache/read-through.ts";
import { countPlans } from "../db/repositories/plans.ts";
import { countSubscribersByStatus } from "../db/repositories/subscribers.ts";
import { DomainError } from "../lib/errors.ts";
import type { Runtime } from "../runtime.ts";
import type { SubscriberStatus } from "../subscribers/schema.ts";
import { SUBSCRIBER_STATUSES } from "../subscribers/schema.ts";
import type { Stats } from "./schema.ts";

/** Subscriber and plan counts, cached; dropped by every consumer write and every plan sync that changed something. */
const STATS_KEY = "stats:v2";
const STATS_SECONDS = 300;

export async function getStats(rt: Runtime): Promise<Read<Stats>> {
  const { value, cache } = await readThrough<Stats>(
    rt,
    STATS_KEY,
    async () => {
      const [counts, plans] = await Promise.all([countSubscribersByStatus(rt.reader()), countPlans(rt.reader())]);
      const byStatus = Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<SubscriberStatus, number>;
      return {
        subscribers: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), by_status: byStatus },
        plans,
        generated_at: new Date().toISOString(),
      };
    },
    { hitSeconds: STATS_SECONDS, missingSeconds: 0 },
  );
  if (!value) throw new DomainError("internal", "stats unavailable");
  return { value, cache };
}

/** Call after a change to subscribers or plans; best effort (the cached counts expire anyway). */
export const forgetStats = (rt: Runtime) => safeDelete(rt, STATS_KEY);
