// The integration tests' fixtures. A test file imports `it` from here (or from a helper that extends
// it) and each test, hook or fixture takes what it uses from its context:
//   it("…", async ({ db, admin }) => { … });   it.beforeAll(async ({ writer }) => { … });
// Rules: every fixture here is file-scoped, set up on first use and shared by the file's tests; a
// plain vitest hook (beforeAll imported from "vitest") gets none, so use it.beforeAll / it.afterAll;
// it.each passes no context, so a table whose tests need a fixture uses it.for. Helpers never keep a
// handle or a key of their own: they take the one they use as a parameter.
import { test } from "vitest";
import { createTestKey, testDb } from "./helpers.ts";

export const it = test
  /** The file's database handle (the Worker's driver and relay), closed after the file. */
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from its first parameter, which must be a pattern
  .extend("db", { scope: "file" }, async ({}, { onCleanup }) => {
    const db = testDb();
    onCleanup(() => db.close());
    return db;
  })
  /** Keys created for the file, directly in Postgres: every scope; subscribers:write and :read; :read only. */
  .extend("admin", { scope: "file" }, ({ db }) => createTestKey(db, ["admin"], "harness-admin"))
  .extend("writer", { scope: "file" }, ({ db }) => createTestKey(db, ["subscribers:write", "subscribers:read"], "harness-writer"))
  .extend("reader", { scope: "file" }, ({ db }) => createTestKey(db, ["subscribers:read"], "harness-reader"));
