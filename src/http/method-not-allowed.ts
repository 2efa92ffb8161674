import type { RouterRoute } from "hono/types";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function pathPattern(path: string): RegExp {
  const source = path
    .split("/")
    .map((seg) => {
      if (seg === "*") return ".*";
      if (seg.startsWith(":")) return "[^/]+";
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}/?$`);
}

/**
 * Hono answers an unmatched method with notFound; this tells "no such path" (404) apart from
 * "path exists, wrong method" (405 with Allow). Built once from the app's own route table.
 */
export function allowedMethodsFor(routes: readonly RouterRoute[]): (path: string) => string[] {
  const table = routes
    .filter((r) => METHODS.includes(r.method) && r.path !== "/*")
    .map((r) => ({ method: r.method, pattern: pathPattern(r.path) }));
  return (path) => {
    const allowed = new Set<string>();
    for (const r of table) if (r.pattern.test(path)) allowed.add(r.method);
    if (allowed.has("GET")) allowed.add("HEAD");
    return [...allowed].sort();
  };
}
