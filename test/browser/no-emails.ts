// After the browser suite: no email reached what wrangler dev prints (its `[wrangler:info] GET /path
// 200` request lines), its log file, or Miniflare's local trace store (`url.full` of every request):
// the places outside our code that record request URLs.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** An address as text or percent-encoded in a path (`a%40b.example`). */
const EMAIL = /[A-Za-z0-9._+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Each email-like string in `text`, with where it was seen. */
export function emailsIn(where: string, text: string): string[] {
  return [...text.matchAll(EMAIL)].map((m) => `${where}: ${m[0]}`);
}

/** The same for the stack's files: wrangler's log file and the trace store (SQLite, read as Latin-1). */
export function emailsInLocalFiles(stateDir: string): string[] {
  const found: string[] = [];
  const scan = (where: string, text: string) => found.push(...emailsIn(where, text));
  for (const file of [...filesUnder(join(stateDir, "logs")), ...filesUnder(join(stateDir, "wrangler", "v3", "observability"))]) {
    scan(file, readFileSync(file, "latin1"));
  }
  return found;
}
