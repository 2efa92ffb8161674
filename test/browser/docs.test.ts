// Callbacks passed to page.waitForFunction/evaluate run in the browser.
/// <reference lib="dom" />
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, inject, it } from "vitest";

const chromiumPath = inject("chromiumPath");
const baseUrl = inject("baseUrl");

import { launchChromium } from "./chromium.ts";
import { ARTIFACTS } from "./page-helpers.ts";

describe.skipIf(!baseUrl)("OpenAPI document (served by wrangler dev)", () => {
  it("validates against the OpenAPI 3.1 JSON Schema", async () => {
    const res = await fetch(`${baseUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
  });

  it("the docs script comes from the Worker's own static assets", async () => {
    const res = await fetch(`${baseUrl}/assets/vendor/scalar.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});

describe.skipIf(!chromiumPath)("GET /docs in headless Chromium", () => {
  it("renders the API reference with no request leaving localhost; screenshot in test-results/browser/", async () => {
    const browser = await launchChromium(chromiumPath);
    const outside: string[] = [];
    const cspViolations: string[] = [];
    const pageErrors: string[] = [];
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.route("**/*", (route) => {
        const url = new URL(route.request().url());
        const local = url.protocol === "data:" || url.protocol === "blob:" || url.hostname === "127.0.0.1" || url.hostname === "localhost";
        if (local) return route.continue();
        outside.push(url.href);
        return route.abort("blockedbyclient");
      });
      const page = await context.newPage();
      page.on("pageerror", (e) => pageErrors.push(e.message));
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
      });
      const res = await page.goto(`${baseUrl}/docs`, { waitUntil: "networkidle", timeout: 45_000 });
      expect(res?.status()).toBe(200);
      // Scalar renders every operation of the document; wait for ones we know.
      // The sidebar comes first, the document's own text after it.
      await page.waitForFunction(
        // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a reader sees, not script contents
        () => document.body.innerText.includes("Create an API key") && document.body.innerText.includes("Edge API: subscribers and plans"),
        null,
        { timeout: 30_000 },
      );
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a reader sees, not script contents
      const text = await page.evaluate(() => document.body.innerText);
      expect(text).toContain("Edge API: subscribers and plans");
      expect(text).toContain("Read a subscriber by id or email");
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, "docs.png");
      await page.screenshot({ path: shot });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
    // The page's CSP stops an outside request before it reaches the network, so attempts show up as
    // violations in the console rather than as routed requests: both must be empty.
    expect(outside).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
