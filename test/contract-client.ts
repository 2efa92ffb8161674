// The contract test's client: sends one request of the workload, records its response and checks it
// against the document (test/contract-validator.ts). Shared state of one test file.

import type { Contract, Recorded } from "./contract-validator.ts";
import { bearer, call, uniqueDomain } from "./helpers.ts";

export const state: { contract?: Contract; recorded: Recorded[]; failures: string[] } = { recorded: [], failures: [] };
export const k = { admin: "", writer: "", reader: "", writeOnly: "", eraser: "", hooks: "" };

export interface Send {
  key?: string;
  json?: unknown;
  body?: BodyInit;
  type?: string;
  headers?: Record<string, string>;
  via?: (path: string, init?: RequestInit) => Response | Promise<Response>;
}

/** Sends one request of the workload, records and checks its response, and returns it. */
async function send(method: string, path: string, o: Send = {}) {
  const headers: Record<string, string> = { ...(o.key ? bearer(o.key) : {}), ...o.headers };
  let body = o.body;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers["Content-Type"] = "application/json";
  }
  if (o.type !== undefined) headers["Content-Type"] = o.type;
  const res = await (o.via ?? call)(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const r: Recorded = {
    method,
    url: path,
    status: res.status,
    headers: [...res.headers],
    body: new TextDecoder().decode(await res.arrayBuffer()),
  };
  state.recorded.push(r);
  if (!state.contract) throw new Error("the contract is built in the test's beforeAll");
  state.failures.push(...state.contract.check(r));
  return { status: r.status, headers: res.headers, json: <T>() => JSON.parse(r.body) as T };
}

/**
 * Sends, and records a failure unless the answer has the status the step is there to produce: the
 * workload goes on, so one run lists every mismatch, the document's and the statuses'.
 */
export async function expectStatus(status: number | number[], method: string, path: string, o: Send = {}) {
  const res = await send(method, path, o);
  const wanted = [status].flat();
  if (!wanted.includes(res.status)) state.failures.push(`${method} ${path}: expected status ${wanted.join(" or ")}, got ${res.status}`);
  return res;
}

export type Data<T> = { data: T };
export const person = (tag: string) => ({
  email: `${tag}-${crypto.randomUUID().slice(0, 8)}@${uniqueDomain()}`,
  name: "Contract",
  last_name: "Check",
});
export const wait = { Prefer: "wait=10" };
export const unknown = "0190a3c4-0000-7000-8000-000000000000";
export const tooBig = "x".repeat(24 * 1024);
