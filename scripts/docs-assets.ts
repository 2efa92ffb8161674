// Copies the browser bundles the pages load out of node_modules into web/public/assets/vendor/, where
// Workers Static Assets serves them: the Scalar API reference for /docs, and uPlot (script and
// stylesheet) for the /status charts. Runs after every install (postinstall) so no page ever needs a
// CDN. Generated, not committed.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const modules = join(root, "node_modules");
const target = join(root, "web", "public", "assets", "vendor");

/** [source under node_modules, name under assets/vendor] */
const FILES: Array<[string, string]> = [
  // The package's exports map hides its browser build, so it is addressed by path.
  [join("@scalar", "api-reference", "dist", "browser", "standalone.js"), "scalar.js"],
  // The minified IIFE build defines the global `uPlot`; the page loads it with a classic script tag.
  [join("uplot", "dist", "uPlot.iife.min.js"), "uplot.min.js"],
  [join("uplot", "dist", "uPlot.min.css"), "uplot.min.css"],
];

mkdirSync(target, { recursive: true });
for (const [source, name] of FILES) {
  copyFileSync(join(modules, source), join(target, name));
  console.log(`vendored assets: web/public/assets/vendor/${name}`);
}
