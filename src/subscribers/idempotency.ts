import { canonicalJson, hmacSha256Hex, sha256Hex, timingSafeEqualStr } from "../lib/crypto.ts";
import type { Operation } from "./schema.ts";

/**
 * The Idempotency-Key record the edge kept in KV before a key mapped to its operation id
 * (src/subscribers/operation-id.ts): which request the key was first used with, and the operation
 * it made. None is written any more; those left are read and honoured until their 24 h end. The
 * request is kept as an HMAC of its canonical JSON under the erasure hash key, never as a plain
 * hash: a create's request holds the email and names, and an unsalted hash of them is personal data
 * (anyone can hash a guess). The operation row keeps the same HMAC now (`request_mac`).
 *
 * Records written before the HMAC (`bodyHash`, a SHA-256) are honoured the same way; an erasure
 * deletes those (src/subscribers/erasure-purge.ts).
 */
export interface IdempotencyRecord {
  /** HMAC-SHA256 of the request's canonical JSON under ERASURE_HASH_KEY. */
  requestMac?: string;
  /** The older form: SHA-256 of the same JSON. */
  bodyHash?: string;
  operation: Operation;
}

/** Whether a request replaying the record's key is the request the record was made for. */
export async function isSameRequest(record: IdempotencyRecord, hashKey: string, fingerprint: unknown): Promise<boolean> {
  const json = canonicalJson(fingerprint);
  if (record.requestMac !== undefined) return timingSafeEqualStr(record.requestMac, await hmacSha256Hex(hashKey, json));
  return record.bodyHash !== undefined && record.bodyHash === (await sha256Hex(json));
}

/** A record in the older form, whose unsalted hash an erasure must not leave behind. */
export const holdsPlainHash = (record: unknown) =>
  typeof record === "object" && record !== null && "bodyHash" in record && !("requestMac" in record);
