// The scale bench's /search paths: warm on an isolate that did not run the sync, and cold on a new one.
import type { AppInstance } from "../miniflare-app.ts";
import { cacheKv } from "../miniflare-app.ts";
import type { PathDef, SizeContext } from "./scale-path-kit.ts";
import { httpSampler, kvKeys } from "./scale-path-kit.ts";

const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, "0")}`);
const searchPath = (i: number) => {
  const month = MONTHS[i % MONTHS.length]!;
  return `/search?starts_at=${month}-01T00:00:00Z&ends_at=${month}-28T23:59:59Z`;
};
type SearchBody = { data: { events: unknown[] } };

/**
 * A new instance of the app whose KV holds a copy of every entry the measured instance's KV holds:
 * what an isolate that did not run the sync sees (the sync's own isolate also keeps the index it
 * built in memory, which would flatter /search right after a sync).
 */
async function readerInstance(ctx: SizeContext, names: string[]): Promise<AppInstance> {
  const source = await cacheKv(ctx.app);
  const fresh = await ctx.startApp();
  const target = await cacheKv(fresh);
  for (const name of names) {
    const { value, metadata } = await source.getWithMetadata(name, "arrayBuffer");
    if (value !== null) await target.put(name, value, metadata === null ? {} : { metadata });
  }
  // The isolate itself is started first: what follows measures /search, not script start-up.
  await (await fetch(new URL("/health", fresh.url))).arrayBuffer();
  return fresh;
}

/** /search over the twelve months of 2022, cycling, on an isolate that did not run the sync, once warm. */
export const searchWarm: PathDef = {
  name: "/search warm",
  warmup: MONTHS.length,
  samples: (n) => n,
  async setup(ctx) {
    const reader = await readerInstance(ctx, await kvKeys(ctx.app));
    const events: number[] = [];
    const sampler = httpSampler({ ...ctx, app: reader }, "/search warm", searchPath, {
      check: (body, i) => {
        if (i < MONTHS.length) events.push((body as SearchBody).data.events.length);
      },
    });
    // The same at every size: the history lies before 2022.
    return { ...sampler, checks: () => ({ events_per_month: events }), close: () => reader.mf.dispose() };
  },
};

/** /search as the first request for plans on a new isolate (the KV as the measured instance's). */
export const searchCold: PathDef = {
  name: "/search cold (new isolate)",
  warmup: 0,
  samples: () => 5,
  async setup(ctx) {
    const names = await kvKeys(ctx.app);
    return {
      async sample(i) {
        const fresh = await readerInstance(ctx, names);
        try {
          return await httpSampler({ ...ctx, app: fresh }, "/search cold (new isolate)", searchPath, {
            check: (body) => {
              if ((body as SearchBody).data.events.length === 0) throw new Error("search cold: no events");
            },
          }).sample(i);
        } finally {
          await fresh.mf.dispose();
        }
      },
      checks: () => ({ kv_keys_copied: names.length }),
    };
  },
};
