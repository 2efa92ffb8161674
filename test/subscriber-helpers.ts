// Shared by the subscriber tests (writes, the queue consumer, reads, bad input and authorization).
import { afterAll, beforeAll } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { createTestKey, testDb } from "./helpers.ts";
import { storedIn as storedInDomain, subscriberMessage, waitForOperations as waitForOps } from "./queue-helpers.ts";

export type { OperationBody } from "./helpers.ts";

/**
 * The file's database handle and its two keys. They are live bindings set by useSubscriberKeys():
 * `db` when it is called, the keys in its beforeAll, so read them inside tests, never at import.
 */
export let db: DbHandle;
export let writer: string;
export let reader: string;

/** Opens the handle, creates a writer and a reader key before the file's tests, closes the handle after. */
export function useSubscriberKeys(): void {
  db = testDb();
  afterAll(() => db.close());
  beforeAll(async () => {
    writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "writer");
    reader = await createTestKey(db, ["subscribers:read"], "reader");
  });
}

/** Subscribers stored at this email domain, through the file's handle. */
export const storedIn = (domain: string) => storedInDomain(db, domain);
export const message = subscriberMessage;
/** Waits until every one of these operations has an outcome row, through the file's handle. */
export const waitForOperations = (ids: string[]) => waitForOps(db, ids);
