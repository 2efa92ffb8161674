import fc from "fast-check";
import { encodeCursor } from "../../src/lib/pagination.ts";

/**
 * The fuzzer's inputs: arbitrary parameters, headers and bodies for every subscriber route and every
 * listed route's cursor, plus a share of nearly valid writes (at `domain`) so that many reach the
 * consumer and the database.
 */
export function fuzzRequests(domain: string) {
  /**
   * One sample of every kind of character the name policy is about: NUL and other C0 controls, DEL, C1,
   * CR/LF and tab, bidi embeddings/overrides/isolates and marks, zero-width and other default-ignorable
   * characters, line and paragraph separators, lone surrogates, no-break and ideographic spaces,
   * combining marks (decomposed letters, to be stored NFC), private use, emoji and right-to-left letters.
   */
  const UNICODE_SAMPLES = [
    "\u0000",
    "\u0007",
    "\u001b",
    "\r",
    "\n",
    "\t",
    "\u007f",
    "\u0085",
    "\u009b",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u034f",
    "\u3164",
    "\u115f",
    "\ufe0f",
    "\u2028",
    "\u2029",
    "\ud800",
    "\udfff",
    "\u00a0",
    "\u3000",
    "\u2003",
    "e\u0301",
    "\u0301",
    "\u0308",
    "A\u030a",
    "\ue000",
    "\u{1F600}",
    "\u{1F469}\u200d\u{1F4BB}",
    "\u05d0",
    "\u0645",
    "\u4e2d",
  ];
  const unicodeChar = fc.constantFrom(...UNICODE_SAMPLES);
  /** A plausible name with such characters inside, or a name made of nothing but them. */
  const hostileName = fc.oneof(
    fc.tuple(fc.string({ maxLength: 10 }), unicodeChar, fc.string({ maxLength: 10 })).map((parts) => parts.join("")),
    fc.array(unicodeChar, { minLength: 1, maxLength: 6 }).map((chars) => chars.join("")),
  );
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme", maxLength: 300 }),
    fc.constantFrom("", " ", "\u0000", "'; drop table subscribers;--", "x".repeat(300)),
  );
  const email = fc.oneof(
    fc.emailAddress().map((e) => e.replace(/@.*/, `@${domain}`)),
    fc.emailAddress(),
    text,
    fc.constantFrom(`UPPER@${domain.toUpperCase()}`, ` spaced@${domain} `, `${"a".repeat(250)}@${domain}`, "a@b", "@", "a@@b.io"),
  );
  const status = fc.oneof(fc.constantFrom("active", "unsubscribed", "unconfirmed", "bounced", "junk"), text);
  const bodyValue = fc.oneof(
    fc.record({ email, name: text, last_name: text, status }, { requiredKeys: [] }),
    fc.record({ email, name: text, last_name: text, status, extra: fc.jsonValue() }),
    fc.jsonValue(),
  );
  const rawBody = fc.oneof(
    bodyValue.map((v) => JSON.stringify(v)),
    fc.string(),
    fc.constantFrom("{", "[]", "null", '{"email":', "\u0000"),
  );
  const contentType = fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/problem+json",
    "text/plain",
    "",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
  );
  const auth = fc.oneof(
    fc.constant("writer"),
    fc.constant("reader"),
    fc.constant("none"),
    fc.string().map((s) => `Bearer ${s}`),
    fc.string(),
  );
  const headerValue = fc.string({ maxLength: 300 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s));
  const segment = fc.oneof(fc.uuid(), email, text, fc.constantFrom("%", "%00", "..", "%2F", "a/b", "\u00e9"));
  // Forged with the API's own codec, so that they pass its outer layer and test what is inside.
  const b64url = encodeCursor;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  /** Date-times with the right shape and often no meaning: day 31 of a short month, hour 24, month 13. */
  const dateish = fc
    .tuple(
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 61 }),
    )
    .map(([y, mo, d, h, mi]) => `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:00`);
  /** Cursors for every listed route: random text, and both codecs' shapes filled with odd values. */
  const cursorValue = fc.oneof(
    text,
    fc.base64String({ maxLength: 120 }),
    fc
      .record({
        c: fc.oneof(
          dateish,
          dateish.map((d) => `${d}.000Z`),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          text,
        ),
        i: fc.oneof(fc.uuid(), text),
      })
      .map(b64url),
    fc.tuple(fc.oneof(dateish, text), fc.oneof(fc.uuid(), text)).map(b64url),
    fc.jsonValue().map(b64url),
  );
  const queryPart = fc.dictionary(
    fc.oneof(fc.constantFrom("status", "limit", "cursor", "starts_at", "ends_at"), fc.string({ maxLength: 10 })),
    fc.oneof(text, cursorValue, dateish, fc.integer().map(String), fc.constantFrom("active", "-1", "1e3", "100", "0x10")),
    { maxKeys: 4 },
  );
  /** Every route that lists with a cursor, and the key that may call it. */
  const listRoute = fc.constantFrom(
    ["/v1/subscribers", "reader"],
    ["/v1/plans", "none"],
    ["/v1/admin/api-keys", "admin"],
    ["/v1/admin/dead-letters", "admin"],
  );

  // Close to valid, so a good share is accepted and reaches the consumer and the database.
  const nearlyValid = fc
    .record(
      {
        email: fc
          .oneof(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,30}$/), fc.emailAddress())
          .map((e) => `${e.replace(/@.*/, "")}@${domain}`),
        name: fc.oneof({ weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 60 }) }, { weight: 1, arbitrary: hostileName }),
        last_name: fc.oneof(
          { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 60 }) },
          { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }) },
          { weight: 1, arbitrary: hostileName },
        ),
        status: fc.constantFrom("active", "unsubscribed", "unconfirmed", "bounced", "junk"),
      },
      { requiredKeys: ["email", "name", "last_name"] },
    )
    .map((v) => JSON.stringify(v));

  const request = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("post" as const),
        body: nearlyValid,
        contentType: fc.constant("application/json"),
        auth: fc.constant("writer"),
        idem: fc.option(headerValue, { freq: 2 }),
      }),
    },
    fc.record({ kind: fc.constant("post" as const), body: rawBody, contentType, auth, idem: fc.option(headerValue) }),
    fc.record({ kind: fc.constant("get" as const), segment, auth }),
    fc.record({ kind: fc.constant("list" as const), query: queryPart, auth }),
    fc.record({ kind: fc.constant("cursor" as const), route: listRoute, cursor: cursorValue, extra: queryPart }),
    fc.record({ kind: fc.constant("operation" as const), segment, auth }),
    fc.record({ kind: fc.constant("stats" as const), auth, requestId: headerValue }),
  );
  return request;
}

export type FuzzRequest = typeof fuzzRequests extends (d: string) => fc.Arbitrary<infer R> ? R : never;
