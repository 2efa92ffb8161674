// The import rule of README.md "Where things live", checked over src/ by `npm run lint:imports`.
// Layers: entry points (src/index.ts, http/, queue/, cron/) → capabilities → platform → lib/.
// Type-only imports count (tsPreCompilationDeps). Unit tests beside the source follow their folder.
const CAP = "(subscribers|dead-letters|webhooks|plans|stats|status|auth|ops)";
const PLATFORM = "^src/(runtime\\.ts$|config/|db/|cache/|ratelimit/|providers/)";
const ENTRY = "^src/(index\\.ts$|http/|queue/|cron/)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      severity: "error",
      comment: "No import cycle, type-only imports included.",
      from: {},
      to: { circular: true },
    },
    {
      name: "lib-imports-only-lib",
      severity: "error",
      comment: "src/lib/ imports nothing from src/ outside src/lib/.",
      from: { path: "^src/lib/" },
      to: { path: "^src/", pathNot: "^src/lib/" },
    },
    {
      name: "platform-imports-lib-and-platform",
      severity: "error",
      comment: "The platform imports only lib/ and the platform.",
      from: { path: PLATFORM },
      to: { path: "^src/", pathNot: ["^src/lib/", PLATFORM] },
    },
    {
      name: "capability-through-index",
      severity: "error",
      comment: "Another capability is reached only through its index.ts (its public module).",
      from: { path: "^src/([^/]+)" },
      to: { path: `^src/${CAP}/`, pathNot: ["^src/$1/", `^src/${CAP}/index\\.ts$`] },
    },
    {
      name: "capability-imports-down",
      severity: "error",
      comment: "A capability imports lib/, the platform, its own folder and other capabilities.",
      from: { path: `^src/${CAP}/` },
      to: { path: "^src/", pathNot: ["^src/lib/", PLATFORM, `^src/${CAP}/`] },
    },
    {
      name: "no-import-of-entry",
      severity: "error",
      comment: "Nothing imports an entry point but src/index.ts; entry points do not import each other.",
      from: { path: "^src/([^/]+)", pathNot: "^src/index\\.ts$" },
      to: { path: ENTRY, pathNot: "^src/$1/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "Every import resolves (a file, a Node built-in, an installed package or cloudflare:*).",
      from: {},
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
    {
      name: "not-to-undeclared",
      severity: "error",
      comment: "Every npm package imported is declared in package.json.",
      from: {},
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "not-to-dev-dep",
      severity: "error",
      comment: "The Worker's code (not its unit tests) imports only runtime dependencies.",
      from: { path: "^src/", pathNot: "\\.test\\.ts$" },
      to: { dependencyTypes: ["npm-dev"] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/.*\\.d\\.ts$" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
