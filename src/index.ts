// The HTTP app first: it loads @hono/zod-openapi, which must extend zod before any module builds
// the schemas that routes later annotate with .openapi().

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
