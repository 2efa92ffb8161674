import { describe, expect, it } from "vitest";
import { call } from "./helpers.ts";

// The page itself is exercised in Chromium by test/browser; these check how the Worker serves it.
describe("web page", () => {
  it("GET / is the HTML page with a strict CSP and no inline script", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/assets/main.js"></script>');
    // Every <script> has a src: nothing inline that a strict CSP would have to allow.
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => tag.includes(" src="))).toBe(true);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it("serves the page's modules as JavaScript", async () => {
    const res = await call("/assets/main.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("a missing asset is the API's 404 problem", async () => {
    const res = await call("/assets/nope.js");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
