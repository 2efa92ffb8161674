import { defineConfig } from "vitest/config";

// Browser tests run on Node (not in workerd): they drive headless Chromium against the real stack
// that test/browser/global-setup.ts starts. `npm test` runs them after the workerd suite.
export default defineConfig({
  test: {
    name: "browser",
    environment: "node",
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["./test/browser/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
