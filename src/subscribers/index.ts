/** The subscribers capability's public module: its queue consumer, its write journal and its replay rule. */
export { consumeSubscriberWrites } from "./consumer.ts";
export { reconcileWriteJournal } from "./journal.ts";
export { replayableWrite } from "./messages.ts";
