/** The dead-letters capability: what the subscriber queue could not apply, kept, shown and replayed. */
export { consumeDeadLetters, DEAD_LETTER_REASONS, deadLetter, purgeParkedMentioning } from "./dead-letter.ts";
export { pendingDeadLetters, redriveDeadLetters, replayPending } from "./redrive.ts";
export { DeadLetter, ReplayRequest, ReplayResult } from "./schema.ts";
