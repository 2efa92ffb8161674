// npm run openapi:export — writes the OpenAPI document that /openapi.json serves to .data/openapi.json
// (or the path given), for `redocly lint` and generators. Offline and without workerd: the app's
// routes are plain modules; the one Workers-only import (the rate limiter's Durable Object base
// class) is stubbed, since building the document never runs it.

import { mkdirSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

registerHooks({
  resolve: (specifier, context, next) =>
    specifier.startsWith("cloudflare:")
      ? { url: "data:text/javascript,export class DurableObject {}", shortCircuit: true }
      : next(specifier, context),
});

interface AppModule {
  createApp(): unknown;
}
interface DocumentModule {
  openApiDocument(app: unknown, origin: string): unknown;
}

const root = resolve(import.meta.dirname, "..");
// Computed specifiers: the scripts' type check (Node types) stays out of the Worker's sources.
const { createApp } = (await import(pathToFileURL(resolve(root, "src/http/app.ts")).href)) as AppModule;
const { openApiDocument } = (await import(pathToFileURL(resolve(root, "src/http/openapi-document.ts")).href)) as DocumentModule;

const out = resolve(root, process.argv[2] ?? ".data/openapi.json");
const origin = process.env.OPENAPI_SERVER_URL ?? "/";
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(openApiDocument(createApp(), origin), null, 2)}\n`);
console.log(`[openapi] wrote ${out}`);
