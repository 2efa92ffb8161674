// Copies the Scalar API reference bundle out of node_modules into web/public/assets/vendor/, where
// Workers Static Assets serves it to /docs. Runs after every install (postinstall) so the page never
// needs a CDN. Generated, not committed.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
// The package's exports map hides its browser build, so it is addressed by path.
const source = join(root, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");
const target = join(root, "web", "public", "assets", "vendor");
mkdirSync(target, { recursive: true });
copyFileSync(source, join(target, "scalar.js"));
console.log("docs assets: web/public/assets/vendor/scalar.js");
