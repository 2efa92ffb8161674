// npm run keys:create -- --name ops --scopes admin [--rate-limit 100/60]
// Creates an API key directly in the database at DATABASE_URL: the way to mint the very first admin
// key in production (after that, use POST /v1/admin/api-keys). The key is signed (src/auth/signed-keys.ts)
// with API_KEY_SIGNING_SECRET, the Worker's own secret, which a database other than a local one
// requires. Prints the key once; only its SHA-256 is stored.
import { parseArgs } from "node:util";
import type { Scope } from "../src/auth/principal.ts";
import { SCOPES } from "../src/auth/principal.ts";
import { DEVELOPMENT_SIGNING_SECRET } from "../src/config/schema.ts";
import { createSignedApiKey } from "./lib/api-keys.ts";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    scopes: { type: "string", default: "admin" },
    "rate-limit": { type: "string" },
  },
});

function fail(message: string): never {
  console.error(`keys:create: ${message}`);
  console.error(
    "usage: DATABASE_URL=postgres://… API_KEY_SIGNING_SECRET=… npm run keys:create -- --name NAME [--scopes admin,subscribers:read] [--rate-limit LIMIT/SECONDS]",
  );
  process.exit(2);
}

const url = process.env.DATABASE_URL;
if (!url) fail("set DATABASE_URL");
if (!values.name) fail("--name is required");
const scopes = values.scopes
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
if (scopes.length === 0 || unknown.length > 0)
  fail(`unknown scopes: ${unknown.join(", ") || "(none given)"}; choose from ${SCOPES.join(", ")}`);

let rateLimit: { limit: number; periodSeconds: number } | undefined;
if (values["rate-limit"]) {
  const m = /^(\d+)\/(\d+)$/.exec(values["rate-limit"]);
  if (!m) fail("--rate-limit is LIMIT/SECONDS, e.g. 100/60");
  rateLimit = { limit: Number(m[1]), periodSeconds: Number(m[2]) };
  if (rateLimit.limit < 1 || rateLimit.limit > 1_000_000 || rateLimit.periodSeconds < 1 || rateLimit.periodSeconds > 86_400)
    fail("--rate-limit out of range");
}

const local = /localhost|127\.0\.0\.1/.test(url);
const secret = process.env.API_KEY_SIGNING_SECRET || (local ? DEVELOPMENT_SIGNING_SECRET : undefined);
if (!secret) fail("set API_KEY_SIGNING_SECRET to the Worker's secret (wrangler secret put API_KEY_SIGNING_SECRET)");
if (secret.length < 32) fail("API_KEY_SIGNING_SECRET has at least 32 characters");
const { id, key } = await createSignedApiKey(url, secret, !local, { name: values.name, scopes: scopes as Scope[], rateLimit });
console.log(
  `created API key ${id} (${values.name}; scopes: ${scopes.join(", ")}${rateLimit ? `; ${rateLimit.limit}/${rateLimit.periodSeconds}s` : ""})`,
);
console.log("store it now, it is not shown again:");
console.log(key);
