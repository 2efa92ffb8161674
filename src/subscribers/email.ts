import { z } from "zod";

/**
 * What an email address is, in this API: one rule for the edge (creates, lookups, erasures by
 * address) and the queue consumer, so an address the consumer would refuse is a 422 at the edge and
 * never an accepted write that fails later. Trimmed, at most 254 characters, and zod's email format:
 * ASCII only (so no controls, NUL or spaces) and a dotted domain (`x@localhost` is refused).
 */
/** The same rule as a JSON Schema pattern, for the document: zod's own email expression. */
export const EMAIL_PATTERN = z.regexes.email.source;

export const EmailAddress = z
  .string()
  // The document shows the rule the pipe below enforces (surrounding spaces are trimmed first).
  .meta({ format: "email", pattern: EMAIL_PATTERN })
  .trim()
  .max(254, "must be at most 254 characters")
  .pipe(z.email("must be a valid email address"));

/**
 * What a filter by address accepts: printable ASCII of at most 254 characters, a superset of every
 * stored address (EmailAddress admits ASCII only), so a value that is no address matches nothing
 * instead of being a 422.
 */
export const EMAIL_FILTER = /^[\x20-\x7e]{1,254}$/;

export const isEmailAddress = (value: string) => EmailAddress.safeParse(value).success;
