// Callbacks passed to page.evaluate run in the browser.
/// <reference lib="dom" />

import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./chromium.ts";
import { ARTIFACTS, api, DESKTOP, PHONE, until } from "./page-helpers.ts";

const chromiumPath = inject("chromiumPath");
const baseUrl = inject("baseUrl");
const adminKey = inject("adminKey");

describe.skipIf(!chromiumPath)("subscriber page in headless Chromium", () => {
  let browser: Browser;
  // Page errors and console errors other than failed HTTP statuses (a 401/422 is expected in some
  // tests): a CSP violation shows up here as "Refused to …".
  let problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium(chromiumPath);
  });
  afterAll(() => browser?.close());
  afterEach(() => {
    expect(problems).toEqual([]);
    problems = [];
  });

  async function open(viewport: { width: number; height: number }): Promise<Page> {
    // A fresh context per test: sessionStorage (the key) does not leak between tests.
    const context = await browser.newContext({ viewport, baseURL: baseUrl });
    const page = await context.newPage();
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
    });
    await page.goto("/");
    return page;
  }

  async function useKey(page: Page, key: string) {
    await page.getByLabel("API key").fill(key);
    await page.getByLabel("API key").press("Enter");
  }

  const rowEmails = (page: Page) => page.locator("#subscriber-rows tr td:first-child").allTextContents();

  it("adds a subscriber with the keyboard alone, shows it pending then stored, then 'already exists' for the same email", async () => {
    const page = await open(DESKTOP);
    await useKey(page, adminKey);
    const email = `ada.${randomUUID().slice(0, 8)}@example.com`;

    // Record every state the result line goes through, so a fast "pending" is not missed.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const out = document.getElementById("add-result")!;
      new MutationObserver(() => seen.push(out.textContent ?? "")).observe(out, { childList: true, characterData: true, subtree: true });
    });
    await page.getByLabel("Email", { exact: true }).focus();
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    await page.keyboard.type("Ada");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Lovelace");
    await page.keyboard.press("Tab");
    await page.keyboard.press("a"); // the Status select jumps to "active"
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Add subscriber");
    await page.keyboard.press("Enter");

    await page.locator("#add-result", { hasText: "Stored." }).waitFor();
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(seen.some((t) => t.startsWith("Pending"))).toBe(true);
    expect(await page.getByLabel("Status", { exact: true }).inputValue()).toBe("active");

    // The first page refreshes and shows the new subscriber on top.
    await page.locator("#subscriber-rows tr", { hasText: email }).waitFor();
    expect((await rowEmails(page))[0]).toBe(email);
    await page.screenshot({ path: `${ARTIFACTS}/desktop-stored.png`, fullPage: true });

    // The same email again: "already exists", linking to the stored one.
    await page.getByRole("button", { name: "Add subscriber" }).click();
    await page.locator("#add-result", { hasText: "Already exists" }).waitFor();
    await page.getByRole("link", { name: "View the existing subscriber" }).click();
    const panel = page.locator("#lookup-result");
    await panel.getByText(email, { exact: true }).waitFor();
    expect(await panel.getByText("active", { exact: true }).count()).toBe(1);
    expect(page.url()).not.toContain(adminKey);
    await page.screenshot({ path: `${ARTIFACTS}/desktop-already-exists.png`, fullPage: true });
  });

  it("pages through 60 seeded subscribers with Next and Previous", async () => {
    // Seeded through the API (queue → consumer → Postgres), as a client would; "bounced" is used by
    // no other test, so the filter shows exactly these.
    const domain = `p${randomUUID().slice(0, 8)}.example.com`;
    const emails = Array.from({ length: 60 }, (_, i) => `seed${String(i).padStart(2, "0")}@${domain}`);
    for (let i = 0; i < emails.length; i += 10) {
      const batch = emails
        .slice(i, i + 10)
        .map((email, j) => api("POST", "/v1/subscribers", { email, name: `Seed${i + j}`, last_name: "Paged", status: "bounced" }));
      for (const r of await Promise.all(batch)) expect(r.status).toBe(202);
    }
    const stored = await until(async () => {
      const r = await api<{ data: Array<{ email: string }> }>("GET", "/v1/subscribers?status=bounced&limit=100");
      return r.body.data.length === 60 ? r.body.data.map((s) => s.email) : undefined;
    }, "60 seeded subscribers to be stored");

    const page = await open(DESKTOP);
    await useKey(page, adminKey);
    await page.getByLabel("Filter by status").selectOption("bounced");
    const prev = page.getByRole("button", { name: "Previous" });
    const next = page.getByRole("button", { name: "Next" });
    const onPage = async (n: number, rows: number) => {
      await page.getByText(`Page ${n}`, { exact: true }).waitFor();
      await until(async () => ((await rowEmails(page)).length === rows ? true : undefined), `${rows} rows on page ${n}`, 5_000);
      expect(await page.locator("#subscriber-table thead tr th").allTextContents()).toEqual([
        "Email",
        "Name",
        "Last name",
        "Status",
        "Created",
      ]);
      return rowEmails(page);
    };

    await until(async () => ((await rowEmails(page)).every((e) => e.endsWith(domain)) ? true : undefined), "the filtered list", 5_000);
    const page1 = await onPage(1, 25);
    expect(await prev.isDisabled()).toBe(true);
    await next.click();
    const page2 = await onPage(2, 25);
    // Keyboard works too: Enter on the focused Next button.
    await next.focus();
    await page.keyboard.press("Enter");
    const page3 = await onPage(3, 10);
    expect(await next.isDisabled()).toBe(true);
    // Focus moved off the now-disabled Next instead of falling back to <body>.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Previous");
    await page.screenshot({ path: `${ARTIFACTS}/desktop-page3.png`, fullPage: true });

    await prev.click();
    expect(await onPage(2, 25)).toEqual(page2);
    await prev.click();
    expect(await onPage(1, 25)).toEqual(page1);
    expect(await prev.isDisabled()).toBe(true);

    // Three pages add up to exactly the 60, in the API's newest-first order, none twice.
    const all = [...page1, ...page2, ...page3];
    expect(all).toEqual(stored);
    expect([...all].sort()).toEqual([...emails].sort());
  });

  it("shows the API's field errors next to the fields (bad email, empty name)", async () => {
    const page = await open(DESKTOP);
    await useKey(page, adminKey);
    await page.getByLabel("Email", { exact: true }).fill("not-an-email");
    await page.getByLabel("Last name", { exact: true }).fill("Hopper");
    await page.getByRole("button", { name: "Add subscriber" }).click();

    const emailError = page.locator("#email-error");
    await emailError.waitFor();
    expect(await emailError.textContent()).toMatch(/valid email/);
    expect(await page.locator("#name-error").textContent()).toMatch(/must not be empty/);
    expect(await page.locator("#last_name-error").isHidden()).toBe(true);
    const email = page.getByLabel("Email", { exact: true });
    expect(await email.getAttribute("aria-invalid")).toBe("true");
    // The message is tied to its field for screen readers, and focus goes to the first bad field.
    expect(await email.getAttribute("aria-describedby")).toBe("email-error");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("email");
    await page.screenshot({ path: `${ARTIFACTS}/desktop-validation.png`, fullPage: true });

    // Fixing the field clears its error on the next attempt.
    await email.fill(`grace.${randomUUID().slice(0, 8)}@example.com`);
    await page.getByLabel("Name", { exact: true }).fill("Grace");
    await page.getByRole("button", { name: "Add subscriber" }).click();
    await page.locator("#add-result", { hasText: "Stored." }).waitFor();
    expect(await emailError.isHidden()).toBe(true);
  });

  it("says so when the API key is wrong (401)", async () => {
    const page = await open(DESKTOP);
    await useKey(page, "sk_this_key_does_not_exist");
    const alert = page.getByRole("alert");
    await alert.getByText("The API key was not accepted (401)", { exact: false }).waitFor();
    expect(await page.locator("#key-status").textContent()).toMatch(/rejected/);
    // The key is never put in the URL.
    expect(page.url()).toBe(`${baseUrl}/`);
    await page.screenshot({ path: `${ARTIFACTS}/desktop-401.png` });
  });

  it("searches plans by date range over the public /search", async () => {
    // One sync from the provider stand-in (its bundled samples), as the cron would do.
    expect((await api("POST", "/v1/admin/plans/sync")).status).toBe(200);
    const page = await open(DESKTOP);
    // No key: /search is public.
    await page.getByLabel("Starts at or after").fill("2022-01-01T00:00:00");
    await page.getByLabel("Ends at or before").fill("2022-12-31T23:59:59");
    await page.getByRole("button", { name: "Search plans" }).click();
    const plans = page.getByRole("table", { name: "Plans" });
    await plans.getByRole("cell", { name: "Jazz en el Retiro" }).waitFor();
    expect(await page.locator("#plans-status").textContent()).toMatch(/^\d+ plans? in that range/);
    await page
      .locator("section", { has: page.getByRole("heading", { name: "Search plans" }) })
      .screenshot({ path: `${ARTIFACTS}/desktop-plans.png` });

    // The contract's own error shape is shown as it comes: an inverted range is a 400.
    await page.getByLabel("Starts at or after").fill("2023-01-01T00:00:00");
    await page.getByRole("button", { name: "Search plans" }).click();
    await page.locator("#plans-status", { hasText: "Search failed (400)" }).waitFor();
    expect(await plans.isHidden()).toBe(true);
  });

  it("is readable at phone width: no sideways scrolling, list and errors visible", async () => {
    const page = await open(PHONE);
    await useKey(page, adminKey);
    await page.getByLabel("Filter by status").selectOption("bounced");
    await page.locator("#subscriber-rows tr").first().waitFor();
    await page.getByLabel("Email", { exact: true }).fill("bad@");
    await page.getByRole("button", { name: "Add subscriber" }).click();
    await page.locator("#email-error").waitFor();
    // Rows are restyled as blocks on a phone; they must still be a table to assistive technology.
    const table = page.getByRole("table", { name: "Subscribers, newest first" });
    expect(await table.getByRole("columnheader").count()).toBe(5);
    expect(await table.getByRole("row").count()).toBe(26);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${ARTIFACTS}/phone.png`, fullPage: true });
    await page.screenshot({ path: `${ARTIFACTS}/phone-top.png` });
    await page
      .locator("section", { has: page.getByRole("heading", { name: "Browse subscribers" }) })
      .screenshot({ path: `${ARTIFACTS}/phone-list.png` });
  });
});
