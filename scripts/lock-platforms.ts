// npm run lock:platforms — keeps package-lock.json valid for `npm ci` on every platform.
// The registry this project is built against does not serve workerd's macOS/Windows binaries, so npm
// leaves them out of the lock file and `npm ci` then refuses the lock as out of sync. This adds the
// missing optional platform entries (os/cpu-restricted, so npm skips them on other platforms and
// fetches them by version where they apply). Run it after any dependency change.
import { readFileSync, writeFileSync } from "node:fs";

type Entry = { version?: string; optionalDependencies?: Record<string, string>; [k: string]: unknown };
const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, Entry> };
const platforms: Record<string, { os: string[]; cpu: string[] }> = {
  "darwin-64": { os: ["darwin"], cpu: ["x64"] },
  "darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "linux-64": { os: ["linux"], cpu: ["x64"] },
  "linux-arm64": { os: ["linux"], cpu: ["arm64"] },
  "windows-64": { os: ["win32"], cpu: ["x64"] },
};
let added = 0;
for (const [path, meta] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const platform = platforms[dep.replace("@cloudflare/workerd-", "")];
    if (!dep.startsWith("@cloudflare/workerd-") || !platform) continue;
    const nested = `${path}/node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (lock.packages[nested] || lock.packages[hoisted]?.version === version) continue;
    const key = lock.packages[hoisted] ? nested : hoisted;
    lock.packages[key] = { version, ...platform, dev: true, optional: true, license: "Apache-2.0", engines: { node: ">=16" } };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)));
writeFileSync("package-lock.json", `${JSON.stringify({ ...lock, packages: sorted }, null, 2)}\n`);
console.log(`lock:platforms: added ${added} platform entr${added === 1 ? "y" : "ies"}`);
