import { base64urlDecode, base64urlEncode } from "../lib/base64.ts";
import type { Principal, Scope } from "./principal.ts";
import { SCOPES } from "./principal.ts";

/**
 * Keys that verify themselves: `sk_live_` (or `sk_test_`), the HMAC-SHA256 of the rest under
 * API_KEY_SIGNING_SECRET, a dot, and the payload (key id, scopes, rate limit), both base64url. A key
 * is immutable (there is no route that changes one), so what it says about itself stays true; the edge
 * needs no storage to know who is calling, only the revocation list (src/auth/revocations.ts).
 * The MAC comes first so that the 12 characters kept as the key's `prefix` differ from key to key.
 */
const PAYLOAD_VERSION = 1;
/** version, 16 bytes of key id, scope bits, rate limit and period (uint32 each, 0 = none). */
const PAYLOAD_BYTES = 1 + 16 + 1 + 4 + 4;
const MAC_CHARS = 43;
const SIGNED = /^(sk_(?:live|test)_)([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{35})$/;

const encoder = new TextEncoder();

/** Whether a presented key has the signed form (legacy keys are 43 base64url characters, no dot). */
export const isSignedForm = (key: string): boolean => key.includes(".");

/**
 * Imported once per secret and isolate: a CryptoKey is plain data to share, and importing on every
 * request would cost more than the verification itself.
 */
const imported = new Map<string, CryptoKey>();

async function macKey(secret: string): Promise<CryptoKey> {
  const known = imported.get(secret);
  if (known) return known;
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  imported.set(secret, key);
  return key;
}

function encodePayload(p: Principal): Uint8Array {
  const bytes = new Uint8Array(PAYLOAD_BYTES);
  bytes[0] = PAYLOAD_VERSION;
  const hex = p.keyId.replaceAll("-", "");
  for (let i = 0; i < 16; i++) bytes[1 + i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  let bits = 0;
  for (const s of p.scopes) bits |= 1 << SCOPES.indexOf(s);
  bytes[17] = bits;
  const view = new DataView(bytes.buffer);
  view.setUint32(18, p.rateLimit?.limit ?? 0);
  view.setUint32(22, p.rateLimit?.periodSeconds ?? 0);
  return bytes;
}

function decodePayload(bytes: Uint8Array): Principal | undefined {
  if (bytes.length !== PAYLOAD_BYTES || bytes[0] !== PAYLOAD_VERSION) return undefined;
  let hex = "";
  for (let i = 1; i <= 16; i++) hex += bytes[i]!.toString(16).padStart(2, "0");
  const keyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const bits = bytes[17]!;
  if (bits === 0 || bits >> SCOPES.length !== 0) return undefined;
  const scopes: Scope[] = SCOPES.filter((_, i) => (bits & (1 << i)) !== 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limit = view.getUint32(18);
  const periodSeconds = view.getUint32(22);
  if ((limit === 0) !== (periodSeconds === 0)) return undefined;
  return { keyId, scopes, rateLimit: limit === 0 ? null : { limit, periodSeconds } };
}

/** Mints the key for this id, scopes and rate limit: what the admin API and `npm run keys:create` hand out. */
export async function mintSignedKey(secret: string, environment: string, p: Principal): Promise<string> {
  const prefix = `sk_${environment === "production" ? "live" : "test"}_`;
  const payload = base64urlEncode(encodePayload(p));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await macKey(secret), encoder.encode(`${prefix}${payload}`)));
  const key = `${prefix}${base64urlEncode(mac)}.${payload}`;
  if (key.length !== prefix.length + MAC_CHARS + 1 + 35) throw new Error("signed key of unexpected length");
  return key;
}

/**
 * The principal a signed key names, or undefined when it is not one of ours: malformed, or a MAC that
 * does not match (crypto.subtle.verify compares in constant time). Costs CPU only, never storage.
 */
export async function verifySignedKey(secret: string, key: string): Promise<Principal | undefined> {
  const m = SIGNED.exec(key);
  if (!m) return undefined;
  const [, prefix, macText, payloadText] = m as unknown as [string, string, string, string];
  let mac: Uint8Array<ArrayBuffer>;
  let payload: Uint8Array;
  try {
    mac = new Uint8Array(base64urlDecode(macText));
    payload = base64urlDecode(payloadText);
  } catch {
    return undefined;
  }
  // One spelling per key: base64url's spare bits in the last character would allow four.
  if (base64urlEncode(mac) !== macText || base64urlEncode(payload) !== payloadText) return undefined;
  const ok = await crypto.subtle.verify("HMAC", await macKey(secret), mac, encoder.encode(`${prefix}${payloadText}`));
  return ok ? decodePayload(payload) : undefined;
}
