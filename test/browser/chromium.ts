// Which Chromium the browser tests drive, and how it starts. A system Chromium (Debian's package, or
// CHROMIUM_PATH) comes first; without one the tests use @sparticuz/chromium, whose binary ships inside
// the npm package, so `npm install && npm test` runs them on a fresh machine. BROWSER_TESTS_CHROMIUM=npm
// forces the npm build, to check that path where a system Chromium exists.
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { chromium } from "playwright-core";

const SYSTEM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

export interface FoundChromium {
  path: string;
  source: "CHROMIUM_PATH" | "system" | "npm (@sparticuz/chromium)";
}

export async function findChromium(): Promise<FoundChromium | { missing: string }> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv)
    return existsSync(fromEnv) ? { path: fromEnv, source: "CHROMIUM_PATH" } : { missing: `no Chromium at CHROMIUM_PATH=${fromEnv}` };
  const system = process.env.BROWSER_TESTS_CHROMIUM === "npm" ? undefined : SYSTEM.find((p) => existsSync(p));
  if (system) return { path: system, source: "system" };
  try {
    // The package unpacks its binary (and the libraries it needs) under the OS's temporary directory.
    const { default: packaged } = await import("@sparticuz/chromium");
    return { path: await packaged.executablePath(), source: "npm (@sparticuz/chromium)" };
  } catch (e) {
    return { missing: `no system Chromium at ${SYSTEM.join(", ")} and @sparticuz/chromium did not unpack (${String(e)})` };
  }
}

// As root in a sandbox with no network: no setuid sandbox, and none of the background connections a
// closed network refuses.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Headless Chromium at the path global-setup.ts found (the tests' injected `chromiumPath`). */
export function launchChromium(executablePath: string): Promise<Browser> {
  // A named locale: under LANG=C the npm build reports `en-US@posix`, which Intl (and so uPlot) refuses.
  return chromium.launch({ executablePath, args: ARGS, headless: true, env: { ...process.env, LANG: "en_US.UTF-8" } });
}
