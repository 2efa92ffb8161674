// The bench's trivial Worker: "ok" at /, "ok" after one rate limiting binding call at /rate-limited,
// and on its other paths only the KV and Queue calls the POST handler makes, so the table can show what that I/O alone costs in this runtime. It is not the app:
// it is typed with @cloudflare/workers-types (this folder's tsconfig), not the app's generated types,
// and runs as written once its types are stripped (scripts/lib/bench/stack.ts).
interface Env {
  KV: KVNamespace;
  Q: Queue<{ body: string }>;
  /** The Workers Rate Limiting binding, as the app's per-IP limit calls it once per public request. */
  RL: { limit(options: { key: string }): Promise<{ success: boolean }> };
}

const body = JSON.stringify({ id: "0190a3b4-0000-7000-8000-000000000000", status: "pending" });

export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response("ok");
    if (path === "/rate-limited") {
      await env.RL.limit({ key: req.headers.get("cf-connecting-ip") ?? "unknown" });
      return new Response("ok");
    }
    const key = `op:${crypto.randomUUID()}`;
    if (path === "/kv-put") await env.KV.put(key, body, { expirationTtl: 86400 });
    else if (path === "/post-io") {
      await env.KV.get(`sub:${key}`);
      await env.Q.send({ body }, { contentType: "json" });
      await env.KV.put(key, body, { expirationTtl: 86400 });
    } else return new Response("not found", { status: 404 });
    return new Response(body, { status: 202, headers: { "content-type": "application/json" } });
  },
  async queue(batch) {
    batch.ackAll();
  },
} satisfies ExportedHandler<Env, { body: string }>;
