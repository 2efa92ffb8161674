/** The subscribers capability's public module: what the entry points and other capabilities may use. */
export type { Accepted } from "./accept.ts";
export { createSubscriber, deleteSubscriber, forgetSubscriber, updateSubscriber } from "./accept.ts";
export { consumeSubscriberWrites } from "./consumer.ts";
export { EMAIL_PATTERN, EmailAddress } from "./email.ts";
export { reconcileWriteJournal } from "./journal.ts";
export { listQueryFields, listSubscriberPage } from "./list.ts";
export { replayableWrite } from "./messages.ts";
export { etagOf } from "./model.ts";
export { operationCacheName } from "./operation-id.ts";
export { parseIfMatch } from "./preconditions.ts";
export type { LocalOperations, SeenOperation } from "./replay.ts";
export { Operation, Subscriber, SubscriberInput, SubscriberPatch, SubscriberStatus } from "./schema.ts";
export { awaitOperation, getOperation, getSubscriber, MAX_WAIT_SECONDS, writeResult } from "./service.ts";
