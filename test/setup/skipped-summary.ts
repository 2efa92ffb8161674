// A reporter after vitest's own: every skipped test is accounted for in one line per reason, so a
// run that skips anything says so at the end rather than in the middle of 78 files' output. The
// only expected skips are the Upstash tests on a machine without redis-server (npm has no Redis
// server that installs without a download; `.ci/run` apt-installs it).
import type { Reporter, TestModule } from "vitest/node";
import { redisServerAvailable } from "./upstash-bridge.ts";

export default class SkippedSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const upstash: string[] = [];
    const other: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests("skipped")) {
        if (test.options.mode === "todo") continue;
        (/upstash/i.test(test.fullName) ? upstash : other).push(`${module.relativeModuleId} > ${test.fullName}`);
      }
    }
    if (upstash.length > 0) {
      const why = redisServerAvailable()
        ? "skipped"
        : "skipped: no redis-server on this machine (apt-get install redis-server; .ci/run installs it)";
      console.log(`\n[upstash] ${upstash.length} Upstash tests ${why}.${other.length === 0 ? " Every other test ran." : ""}`);
    }
    if (other.length > 0) console.log(`\n[skipped] ${other.length} other tests skipped:\n  ${other.join("\n  ")}`);
  }
}
