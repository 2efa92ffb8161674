// Prints the gzipped size of the bundled Worker (dist/, from `npm run build`) and fails above the
// limit (default 1 MiB, the Workers free-plan ceiling after compression).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = process.argv[2] ?? "dist";
const limit = Number(process.env.BUNDLE_LIMIT_BYTES ?? 1024 * 1024);
let raw = 0;
let gz = 0;
for (const f of readdirSync(dir)) {
  const p = join(dir, f);
  if (!statSync(p).isFile() || f.endsWith(".map")) continue;
  const buf = readFileSync(p);
  raw += buf.length;
  gz += gzipSync(buf, { level: 9 }).length;
}
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`bundle: ${kib(raw)} raw, ${kib(gz)} gzipped (limit ${kib(limit)})`);
if (gz > limit) {
  console.error("bundle exceeds the gzipped size limit");
  process.exit(1);
}
