import { describe, expect, it } from "vitest";
import { createApp, OPENAPI_PATH } from "../src/http/app.ts";
import { call } from "./helpers.ts";

type Operation = {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type OpenApiDoc = {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme: string }> };
};

/** Routes that serve pages and files rather than the API: the docs themselves, the web page and the status page. */
const NOT_API = new Set([OPENAPI_PATH, "/docs", "/", "/status", "/assets/*"]);
const HTTP_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/** Every route the app answers, read from its own route table (Hono `:param` → OpenAPI `{param}`). */
function appRoutes(): string[] {
  const routes = createApp()
    .routes.filter((r) => HTTP_METHODS.has(r.method) && !NOT_API.has(r.path))
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`);
  return [...new Set(routes)].sort();
}

async function getDoc(): Promise<OpenApiDoc> {
  const res = await call(OPENAPI_PATH);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return res.json<OpenApiDoc>();
}

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists exactly the app's routes", async () => {
    const doc = await getDoc();
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(9);
    expect(routes).toContain("post /v1/admin/api-keys");
    expect(documented).toEqual(routes);
  });

  it("declares the bearer scheme; every operation has an operationId and security, and every secured one documents 401, 403 and 429 as problems", async () => {
    const doc = await getDoc();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.schemas.Problem).toBeTruthy();
    let secured = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        for (const [status, response] of Object.entries(op.responses)) {
          // /ready answers its own body; /search keeps the Fever envelope for its errors.
          // Problem, or a kind of it that declares the members it adds (ForbiddenProblem, ConflictProblem…).
          if (Number(status) >= 400 && path !== "/ready" && path !== "/search") {
            expect(response.content?.["application/problem+json"]?.schema?.$ref, `${where} ${status}`).toMatch(
              /^#\/components\/schemas\/\w*Problem$/,
            );
          }
        }
        // Public operations are limited per client IP, so they can answer 429 too; any may fail (500, 503).
        for (const status of ["429", "500", "503"]) expect(op.responses[status], `${where} ${status}`).toBeTruthy();
        expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
        expect(op.security, `${where} security`).toBeDefined();
        if (op.security?.length === 0) continue;
        secured++;
        expect(op.security, where).toEqual([{ bearerAuth: [] }]);
        // Admin routes hide behind 404 for callers without a valid key, so they never answer 401.
        const denied = path.startsWith("/v1/admin/") ? ["404", "403", "429"] : ["401", "403", "429"];
        for (const status of denied) expect(op.responses[status], `${where} ${status}`).toBeTruthy();
      }
    }
    expect(secured).toBeGreaterThanOrEqual(8);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size, "operationIds are unique").toBe(ids.length);
  });

  it("has a root security, a license, and spells every header name in Canonical-Case", async () => {
    const doc = (await getDoc()) as OpenApiDoc & { security?: unknown; info: { license?: { name: string } } };
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.info.license?.name).toBeTruthy();
    const names: string[] = [];
    for (const ops of Object.values(doc.paths))
      for (const op of Object.values(ops) as Array<Operation & { parameters?: Array<{ in: string; name: string }> }>) {
        for (const p of op.parameters ?? []) if (p.in === "header") names.push(p.name);
        for (const r of Object.values(op.responses) as Array<{ headers?: Record<string, unknown> }>)
          names.push(...Object.keys(r.headers ?? {}));
      }
    // Each word capitalised; ETag, WWW-Authenticate and RateLimit-* as their RFCs spell them.
    const canonical = /^(?:ETag|WWW-Authenticate|(?:RateLimit|[A-Z][a-z]*)(?:-[A-Z][a-z]*)*)$/;
    expect(names.filter((n) => !canonical.test(n))).toEqual([]);
  });
});

describe("/docs", () => {
  it("serves the Scalar page that loads its script from this origin only, under a self-only CSP", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<script src="/assets/vendor/scalar.js">');
    expect(html).toContain('"url": "/openapi.json"');
    expect(html).not.toMatch(/https?:\/\//);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
  });
});
