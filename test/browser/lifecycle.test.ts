// Callbacks passed to page.evaluate run in the browser.
/// <reference lib="dom" />

import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { mayMoveTo, SUBSCRIBER_STATUSES, type Subscriber, type SubscriberStatus } from "../../src/subscribers/schema.ts";
import { launchChromium } from "./chromium.ts";
import { ARTIFACTS, api, createSubscriber, DESKTOP, PHONE, storedRow, until, WAIT, waitForText } from "./page-helpers.ts";

// The subscriber lifecycle through the page: edit, unsubscribe, a stale version, delete and forget,
// each followed to its outcome, against the real stack (queue, consumer, Postgres). Never "bounced"
// here: page.test.ts counts exactly its own 60 bounced subscribers.
const chromiumPath = inject("chromiumPath");
const baseUrl = inject("baseUrl");
const adminKey = inject("adminKey");

describe.skipIf(!chromiumPath)("subscriber lifecycle in the page (headless Chromium)", () => {
  let browser: Browser;
  let problems: string[] = [];
  let outside: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium(chromiumPath);
  });
  afterAll(() => browser?.close());
  afterEach(() => {
    // No page error or console error (a CSP violation, say); failed HTTP statuses (412, 404) are expected.
    expect(problems).toEqual([]);
    // Nothing the page does leaves its origin.
    expect(outside).toEqual([]);
    problems = [];
    outside = [];
  });

  async function open(viewport: { width: number; height: number } = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: baseUrl });
    const origin = new URL(baseUrl).origin;
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      outside.push(url);
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
    });
    await page.goto("/");
    await page.getByLabel("API key").fill(adminKey);
    await page.getByLabel("API key").press("Enter");
    return page;
  }

  async function lookUp(page: Page, idOrEmail: string) {
    await page.getByLabel("Look up by email or id").fill(idOrEmail);
    await page.getByRole("button", { name: "Look up", exact: true }).click();
  }

  /** The value shown beside a term in the looked-up subscriber's facts. */
  const fact = (page: Page, term: string) => page.locator("#lookup-body dl dt", { hasText: new RegExp(`^${term}$`) }).locator("+ dd");
  const changeStatus = (page: Page) => page.locator("#change-status");
  const statusSays = (page: Page, text: string, opts?: { exact?: boolean }) => waitForText(changeStatus(page), text, opts);

  it("edits the name, unsubscribes, then refuses a stale version with 412 until reloaded", async () => {
    const s = await createSubscriber("active");
    const page = await open();
    await lookUp(page, s.email);
    await fact(page, "Version").getByText("1", { exact: true }).waitFor();

    // The status select offers the current status and exactly the API's allowed transitions.
    const offered = async () =>
      page
        .getByLabel("Change status to")
        .locator("option")
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    const allowed = (from: SubscriberStatus) => [from, ...SUBSCRIBER_STATUSES.filter((to) => to !== from && mayMoveTo(from, to))];
    expect(await offered()).toEqual(allowed("active"));

    // Edit the name: follows the operation to "applied", shows the new name and version 2.
    await page.getByLabel("Edit name").fill("Augusta Ada");
    await page.getByRole("button", { name: "Save changes" }).click();
    await statusSays(page, "Save: applied. Now at version 2.");
    expect(await fact(page, "Name").textContent()).toBe("Augusta Ada");
    expect(await fact(page, "Version").textContent()).toBe("2");
    expect(await page.locator("#lookup-body h3").textContent()).toBe("Augusta Ada Lovelace");
    const read = await api<{ data: Subscriber }>("GET", `/v1/subscribers/${s.id}`);
    expect(read.body.data).toMatchObject({ name: "Augusta Ada", version: 2 });
    expect(read.headers.get("etag")).toBe('"2"');
    expect(await storedRow(s.id)).toMatchObject({ name: "Augusta Ada", last_name: "Lovelace", version: 2 });

    // Unsubscribe: one button; the status and unsubscribed_at appear, and the button goes.
    await page.getByRole("button", { name: "Unsubscribe", exact: true }).click();
    await statusSays(page, "Unsubscribe: applied. Now at version 3.");
    expect(await fact(page, "Status").textContent()).toBe("unsubscribed");
    expect(await fact(page, "Unsubscribed").textContent()).not.toBe("");
    expect(await page.getByRole("button", { name: "Unsubscribe", exact: true }).count()).toBe(0);
    expect(await offered()).toEqual(allowed("unsubscribed"));
    const unsubscribed = (await api<{ data: Subscriber }>("GET", `/v1/subscribers/${s.id}`)).body.data;
    expect(unsubscribed).toMatchObject({ status: "unsubscribed", version: 3 });
    expect(unsubscribed.unsubscribed_at).toEqual(expect.any(String));
    expect((await storedRow(s.id))?.unsubscribed_at).toBeInstanceOf(Date);

    // Someone else changes it behind the page's back: the page's version 3 no longer holds.
    const elsewhere = await api("PATCH", `/v1/subscribers/${s.id}`, { name: "Changed elsewhere" }, { ...WAIT, "If-Match": '"3"' });
    expect(elsewhere.status).toBe(200);
    await page.getByLabel("Edit last name").fill("Byron");
    await page.getByRole("button", { name: "Save changes" }).click();
    await statusSays(page, "changed since you loaded it", { exact: false });
    expect(await changeStatus(page).textContent()).toMatch(/^Save: not applied\. .*you saw version 3.* reload it and try again\.$/);
    expect(await storedRow(s.id)).toMatchObject({ name: "Changed elsewhere", last_name: "Lovelace", version: 4 });
    await page.screenshot({ path: `${ARTIFACTS}/lifecycle-412.png`, fullPage: true });

    // Reload shows version 4, and the same edit now applies.
    await page.getByRole("button", { name: "Reload subscriber" }).click();
    await fact(page, "Version").getByText("4", { exact: true }).waitFor();
    expect(await page.getByLabel("Edit name").inputValue()).toBe("Changed elsewhere");
    await page.getByLabel("Edit last name").fill("Byron");
    await page.getByRole("button", { name: "Save changes" }).click();
    await statusSays(page, "Save: applied. Now at version 5.");
    expect(await storedRow(s.id)).toMatchObject({ name: "Changed elsewhere", last_name: "Byron", version: 5 });
  });

  it("without an early answer (202), shows the operation pending and polls it until applied", async () => {
    const s = await createSubscriber("active");
    const page = await open();
    // The API answers 202 when Prefer: wait runs out; dropping the preference makes that certain.
    await page.route(`**/v1/subscribers/${s.id}`, async (route) => {
      if (route.request().method() !== "PATCH") return route.continue();
      const { prefer: _, ...headers } = await route.request().allHeaders();
      return route.continue({ headers });
    });
    const polls: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/v1/operations/")) polls.push(r.url());
    });
    await lookUp(page, s.email);
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    // Every state the live region goes through, so a short "pending" is not missed.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const out = document.getElementById("change-status")!;
      new MutationObserver(() => seen.push(out.textContent ?? "")).observe(out, { childList: true, characterData: true, subtree: true });
    });
    await page.getByLabel("Change status to").selectOption("junk");
    await page.getByRole("button", { name: "Save changes" }).click();
    await statusSays(page, "Save: applied. Now at version 2.");
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(seen.some((t) => /^Save: pending \(operation [0-9a-f]{8}…\)/.test(t))).toBe(true);
    expect(polls.length).toBeGreaterThan(0);
    expect(await fact(page, "Status").textContent()).toBe("junk");
    expect(await page.getByLabel("Change status to").inputValue()).toBe("junk");
    expect(await storedRow(s.id)).toMatchObject({ status: "junk", version: 2 });
  });

  it("deletes only after confirming (keyboard alone); a lookup then finds nothing", async () => {
    const s = await createSubscriber("unconfirmed");
    const page = await open();
    await lookUp(page, s.id);
    const del = page.getByRole("button", { name: "Delete…" });
    await del.waitFor();
    const dialog = page.getByRole("dialog", { name: "Delete this subscriber?" });

    // Escape cancels: nothing is sent, focus returns to the Delete button.
    await del.focus();
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(s.email);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Delete…");
    expect((await api("GET", `/v1/subscribers/${s.id}`)).status).toBe(200);

    // Confirm: Tab from Cancel to Delete, Enter.
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Delete");
    await page.keyboard.press("Enter");
    await statusSays(page, "Delete: done.");
    expect(await page.locator("#lookup-body").textContent()).toBe(`Deleted ${s.email}.`);
    expect(await page.locator("#manage").isHidden()).toBe(true);
    expect(await storedRow(s.id)).toBeUndefined();

    // Looking it up again: not found (an isolate may serve the old state for its few seconds' bound).
    await until(
      async () => {
        await lookUp(page, s.email);
        const text = await page.locator("#lookup-body").textContent();
        return text?.startsWith("No subscriber has the email or id") ? true : undefined;
      },
      "the deleted subscriber's lookup to say not found",
      15_000,
    );
    expect((await api("GET", `/v1/subscribers/${s.id}`)).status).toBe(404);
  });

  it("forgets (erases) after an irreversible-warning confirmation; the API then has no such email", async () => {
    const s = await createSubscriber("active");
    const page = await open();
    await lookUp(page, s.email);
    await page.getByRole("button", { name: "Forget (erase)…" }).click();
    const dialog = page.getByRole("dialog", { name: "Forget (erase) this subscriber?" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/irreversible/);
    await page.screenshot({ path: `${ARTIFACTS}/lifecycle-forget-confirm.png` });
    await dialog.getByRole("button", { name: "Erase permanently" }).click();
    await statusSays(page, "Forget: done.");
    expect(await page.locator("#lookup-body").textContent()).toMatch(/^Erased .*: nothing about this person is kept\.$/);
    expect(await storedRow(s.id)).toBeUndefined();
    await until(
      async () => ((await api("POST", "/v1/subscribers/lookup", { email: s.email })).status === 404 ? true : undefined),
      "the erased email to read as 404",
      15_000,
    );
  });

  it("is usable at phone width: the panel and the confirmation fit without sideways scrolling", async () => {
    const s = await createSubscriber("active");
    const page = await open(PHONE);
    await lookUp(page, s.email);
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.locator("#lookup-result").screenshot({ path: `${ARTIFACTS}/lifecycle-phone.png` });
    await page.getByRole("button", { name: "Delete…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    const box = await dialog.boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: `${ARTIFACTS}/lifecycle-phone-dialog.png` });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    // Nothing to save is said, not sent.
    await page.getByRole("button", { name: "Save changes" }).click();
    await statusSays(page, "Nothing to save", { exact: false });
    expect((await api<{ data: Subscriber }>("GET", `/v1/subscribers/${s.id}`)).body.data.version).toBe(1);
  });
});
