// The response validator of test/contract.test.ts: Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect)
// compiled from the OpenAPI document the app serves. It checks a recorded response against the
// operation it answers: status listed, content type listed, body valid, declared headers present
// (when required) and valid. Every mismatch names the operation, the status and where it is.
import type { ErrorObject, ValidateFunction } from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

type Json = Record<string, unknown>;
interface HeaderDecl {
  required?: boolean;
  schema?: Json;
}
interface ResponseDecl {
  headers?: Record<string, HeaderDecl>;
  content?: Record<string, { schema?: Json }>;
}
interface OperationDecl {
  operationId?: string;
  responses: Record<string, ResponseDecl>;
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, OperationDecl>>;
  components?: Json;
}

/** One response as it came back, kept so that the control can check it again against another document. */
export interface Recorded {
  method: string;
  url: string;
  status: number;
  headers: [string, string][];
  body: string;
}

const METHODS = new Set(["get", "post", "put", "patch", "delete"]);
const mediaType = (value: string) => value.split(";")[0]?.trim().toLowerCase() ?? "";
const isJson = (type: string) => type === "application/json" || type.endsWith("+json");

/** `{id}` → one path segment; a template with fewer parameters wins over one with more (`/sync` before `/{id}`). */
function routeTable(doc: OpenApiDoc) {
  const rows: { method: string; regex: RegExp; params: number; template: string; op: OperationDecl }[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.has(method)) continue;
      rows.push({ method, regex: new RegExp(`^${source}$`), params: (template.match(/\{/g) ?? []).length, template, op });
    }
  }
  return rows.sort((a, b) => a.params - b.params);
}

export class Contract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes;
  /** operationId of every operation the checked responses answered. */
  readonly covered = new Set<string>();
  readonly operationIds: string[];

  constructor(doc: OpenApiDoc) {
    addFormats(this.ajv);
    // Inline schemas refer to components as "#/components/…": point those at the document itself.
    const rooted = JSON.parse(JSON.stringify(doc).replaceAll('"#/components/', '"doc#/components/')) as OpenApiDoc;
    this.ajv.addSchema({ $id: "doc", components: rooted.components ?? {} });
    this.routes = routeTable(rooted);
    this.operationIds = this.routes.map((r) => r.op.operationId ?? `${r.method} ${r.template}`);
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(schema);
      this.compiled.set(key, v);
    }
    return v;
  }

  /** Every way `r` differs from what the document says; empty when it is described. */
  check(r: Recorded): string[] {
    const method = r.method.toLowerCase();
    const path = new URL(r.url, "http://edge.test").pathname;
    const route = this.routes.find((x) => x.method === method && x.regex.test(path));
    if (!route) return [`${r.method} ${path}: no operation in the document`];
    const id = route.op.operationId ?? `${method} ${route.template}`;
    this.covered.add(id);
    const where = `${id} (${r.method} ${path}) ${r.status}`;
    const decl = route.op.responses[String(r.status)] ?? route.op.responses.default;
    if (!decl) return [`${where}: status not in the document (lists ${Object.keys(route.op.responses).join(", ")})`];
    const headers = new Headers(r.headers);
    return [...this.checkHeaders(where, decl, headers), ...this.checkBody(where, decl, headers.get("content-type"), r.body)];
  }

  private checkHeaders(where: string, decl: ResponseDecl, headers: Headers): string[] {
    const out: string[] = [];
    for (const [name, h] of Object.entries(decl.headers ?? {})) {
      const value = headers.get(name);
      if (value === null) {
        if (h.required) out.push(`${where}: header ${name} is required and missing`);
        continue;
      }
      if (!h.schema) continue;
      const v = this.validator(`header:${JSON.stringify(h.schema)}`, h.schema);
      const typed = h.schema.type === "integer" && /^-?\d+$/.test(value) ? Number(value) : value;
      if (!v(typed)) out.push(`${where}: header ${name}: ${JSON.stringify(value)} ${explain(v.errors)}`);
    }
    return out;
  }

  private checkBody(where: string, decl: ResponseDecl, contentType: string | null, body: string): string[] {
    const content = decl.content ?? {};
    const declared = Object.keys(content);
    if (declared.length === 0) return body.length > 0 ? [`${where}: a body the document does not declare (${contentType})`] : [];
    if (contentType === null)
      return body.length > 0
        ? [`${where}: a body without Content-Type`]
        : [`${where}: no body; the document declares ${declared.join(", ")}`];
    const type = mediaType(contentType);
    const key = declared.find((k) => mediaType(k) === type);
    if (key === undefined) return [`${where}: content type ${contentType} not in the document (lists ${declared.join(", ")})`];
    const schema = content[key]?.schema;
    if (!schema) return [];
    let value: unknown = body;
    if (isJson(type)) {
      try {
        value = JSON.parse(body);
      } catch {
        return [`${where}: ${type} body is not JSON`];
      }
    }
    const v = this.validator(`body:${where.split(" ")[0]}:${key}:${JSON.stringify(schema)}`, schema);
    return v(value) ? [] : [`${where} ${type}: body ${explain(v.errors)}`];
  }
}

function explain(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`)
    .join("; ");
}
