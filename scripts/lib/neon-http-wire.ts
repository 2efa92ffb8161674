// The wire format of Neon's SQL-over-HTTP endpoint, for neon-http-standin.ts: the request body (one
// query or a batch) and its parameters as Postgres text, and the error body as Neon's proxy sends it.
import type { IncomingMessage } from "node:http";
import pg from "pg";

/** Neon's default `max_request_size_bytes` (10 MiB). */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const ERROR_FIELDS = [
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "table",
  "column",
  "schema",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

export interface QueryData {
  query: string;
  params: Array<string | null>;
  arrayMode: boolean | undefined;
}

export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new HttpError(413, `request is too large (max is ${MAX_REQUEST_BYTES} bytes)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function parsePayload(text: string): QueryData | QueryData[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
  const one = (v: unknown): QueryData => {
    const q = v as { query?: unknown; params?: unknown; arrayMode?: unknown } | null;
    if (!q || typeof q.query !== "string") throw new HttpError(400, "each query needs a `query` string");
    if (q.params !== undefined && !Array.isArray(q.params)) throw new HttpError(400, "`params` must be an array");
    return {
      query: q.query,
      params: ((q.params as unknown[] | undefined) ?? []).map(toPgText),
      arrayMode: typeof q.arrayMode === "boolean" ? q.arrayMode : undefined,
    };
  };
  const queries = (body as { queries?: unknown } | null)?.queries;
  return Array.isArray(queries) ? queries.map(one) : one(body);
}

/** JSON parameter → Postgres text, as Neon's proxy converts them (json_to_pg_text). */
function toPgText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return arrayLiteral(v);
  return JSON.stringify(v);
}

function arrayLiteral(items: unknown[]): string {
  const element = (v: unknown): string => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return arrayLiteral(v);
    const text = toPgText(v) ?? "";
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  };
  return `{${items.map(element).join(",")}}`;
}

/** Neon's error body: every field present, null when Postgres did not send it. */
export function errorResponse(err: unknown): [number, Record<string, unknown>] {
  if (err instanceof pg.DatabaseError) {
    const body: Record<string, unknown> = { message: err.message, code: err.code ?? "", severity: err.severity ?? "" };
    for (const f of ERROR_FIELDS) body[f] = err[f] ?? null;
    return [400, body];
  }
  const empty = Object.fromEntries(ERROR_FIELDS.map((f) => [f, null]));
  if (err instanceof HttpError) return [err.status, { message: err.message, code: "", severity: "", ...empty }];
  // The connection to Postgres broke mid-statement (no SQLSTATE): Neon answers 500 then.
  return [500, { message: err instanceof Error ? err.message : String(err), code: "", severity: "", ...empty }];
}
