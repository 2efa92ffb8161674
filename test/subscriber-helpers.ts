// Shared by the subscriber tests (writes, the queue consumer, reads, bad input and authorization).
// Rules: a test takes its database handle and keys from test/harness.ts's `it`; a helper that reads
// the database takes the handle as its first parameter (storedIn(db, domain), waitForOperations(db, ids)).
import { subscriberMessage } from "./queue-helpers.ts";

export type { OperationBody } from "./helpers.ts";
export { storedIn, waitForOperations } from "./queue-helpers.ts";

/** A well-formed create message, as the edge would enqueue it. */
export const message = subscriberMessage;
