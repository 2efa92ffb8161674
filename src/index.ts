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
