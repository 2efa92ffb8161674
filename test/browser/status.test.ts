// The operator's /status page in headless Chromium against the real stack, after a scripted workload
// (status-workload.ts): every chart drawn with data and a text alternative, the failed sync visible,
// nothing loaded from elsewhere, no console error, no sideways scrolling at phone width.
/// <reference lib="dom" />

import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Status } from "../../src/status/schema.ts";
import { launchChromium } from "./chromium.ts";
import { ARTIFACTS, DESKTOP } from "./page-helpers.ts";
import { runStatusWorkload } from "./status-workload.ts";

const chromiumPath = inject("chromiumPath");
const baseUrl = inject("baseUrl");
const adminKey = inject("adminKey");

/** Every chart the page draws, by section. */
const CHARTS = [
  "writes-rate",
  "writes-lag",
  "requests-rate",
  "requests-errors",
  "requests-p50",
  "requests-p99",
  "requests-cache",
  "plans-syncs",
  "plans-breaker",
  "subscribers-created",
  "subscribers-status",
  "webhooks-deliveries",
  "webhooks-failures",
];

describe.skipIf(!chromiumPath)("/status in headless Chromium", () => {
  let browser: Browser;
  let status: Status;
  let failedStatus: number;
  let closeReceiver = async () => {};
  const problems: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium(chromiumPath);
    ({ status, failedStatus, close: closeReceiver } = await runStatusWorkload());
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await closeReceiver();
  });

  async function open(viewport: { width: number; height: number }, opts: { fakeClock?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: baseUrl });
    const page = await context.newPage();
    if (opts.fakeClock) await page.clock.install();
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on("request", (r) => {
      if (new URL(r.url()).origin !== new URL(baseUrl).origin) foreign.push(r.url());
    });
    await page.goto("/status");
    await page.getByLabel("Admin API key").fill(adminKey);
    await page.getByLabel("Admin API key").press("Enter");
    await page.waitForFunction(() => document.body.dataset.loaded !== undefined);
    return page;
  }

  it("draws every chart with data and a text alternative, and shows the failed sync", async () => {
    expect(failedStatus).toBeGreaterThanOrEqual(500);
    const page = await open(DESKTOP);

    for (const id of CHARTS) {
      const figure = page.locator(`#chart-${id}`);
      // A uPlot canvas with a size, labelled by the caption and described by the summary.
      const canvasWidth = await figure
        .locator(".plot canvas")
        .first()
        .evaluate((c) => (c as HTMLCanvasElement).width);
      expect(canvasWidth, id).toBeGreaterThan(0);
      const plot = figure.locator(".plot");
      expect(await plot.getAttribute("role"), id).toBe("img");
      const summaryId = await plot.getAttribute("aria-describedby");
      expect(((await page.locator(`#${summaryId}`).textContent()) ?? "").length, id).toBeGreaterThan(10);
      // The table alternative: rows of values, not "No data in this window".
      const cells = await figure.locator("details table tbody td").allTextContents();
      const pattern = id === "plans-breaker" ? /closed|open/ : /\d/;
      expect(
        cells.some((t) => pattern.test(t)),
        `${id}: ${cells.slice(0, 5).join(" | ")}`,
      ).toBe(true);
    }

    // The failed sync: its own series in the legend, in the failure colour, and a row in the table.
    const syncs = page.locator("#chart-plans-syncs");
    const failedEntry = syncs.locator(".u-legend .u-series", { hasText: "failed" });
    await expect.poll(() => failedEntry.count()).toBe(1);
    const marker = await failedEntry.locator(".u-marker").evaluate((m) => getComputedStyle(m).borderColor);
    expect(marker).toBe("rgb(213, 94, 0)");
    await syncs.locator("summary").click();
    await syncs.locator("tbody tr", { hasText: "failed" }).first().waitFor();
    expect(await syncs.locator(".summary").textContent()).toMatch(/\b[1-9]\d* failed\b/);
    const runs = status.plans.syncs;
    // The stack's cron keeps syncing while the page loads: the page may show runs newer than `status`.
    expect(await syncs.locator("tbody tr").count()).toBeGreaterThanOrEqual(runs.length);

    // Headline figures.
    expect(Number(await page.locator("#dead-letters").textContent())).toBe(status.writes.dead_letters_waiting);
    expect(await page.locator("#last-good-sync").textContent()).not.toBe("no good sync yet");
    expect(await page.locator("#endpoints-disabled").textContent()).toMatch(/^[1-9]\d* of \d+$/);

    await page.screenshot({ path: `${ARTIFACTS}/status.png`, fullPage: true });

    // Replaying the dead letter.
    await page.getByRole("button", { name: "Replay dead letters" }).click();
    await page.locator("#replay-result", { hasText: /^Replayed [1-9]/ }).waitFor();

    // Another window redraws the same charts.
    await page.getByLabel("Last week").check();
    await page.waitForFunction(
      (before) => document.body.dataset.loaded !== before,
      await page.evaluate(() => document.body.dataset.loaded),
    );
    expect(await page.locator("figure.chart").count()).toBe(CHARTS.length);

    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  }, 120_000);

  it("refreshes itself every 30 s", async () => {
    const page = await open(DESKTOP, { fakeClock: true });
    const before = await page.evaluate(() => document.body.dataset.loaded);
    await page.clock.runFor(31_000);
    await page.waitForFunction((b) => document.body.dataset.loaded !== b, before);
    expect(problems).toEqual([]);
  });

  it("fits a 360 px wide phone without sideways scrolling", async () => {
    const page = await open({ width: 360, height: 780 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const widest = await page.locator(".plot canvas").evaluateAll((cs) => Math.max(...cs.map((c) => c.getBoundingClientRect().right)));
    expect(widest).toBeLessThanOrEqual(360);
    await page.screenshot({ path: `${ARTIFACTS}/status-phone.png`, fullPage: true });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
