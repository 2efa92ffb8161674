// The Worker's entry: each runtime event goes to its entry point (the HTTP app, the queue dispatch,
// the cron dispatch), and nothing else happens here. Schemas carry OpenAPI data through zod's own
// .meta(), so no module depends on the order in which these load.

import { handleScheduled } from "./cron/index.ts";
import { createApp } from "./http/app.ts";
import { handleQueue } from "./queue/index.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;

export type { App } from "./http/app.ts";
// Durable Object classes must be exported by the entry module (wrangler.toml durable_objects).
export { RateLimiterObject } from "./ratelimit/durable-object.ts";
