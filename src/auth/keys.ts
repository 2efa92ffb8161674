import { base64urlEncode } from "../lib/base64.ts";
import { sha256Hex } from "../lib/crypto.ts";

/** Shown as the key's recognisable start ("sk_live_…"), enough to tell keys apart in a list. */
const PREFIX_CHARS = 12;

/**
 * The one way keys are minted, by the admin API, `npm run keys:create`, the dev stack, the bench and
 * the tests: `sk_live_` (production) or `sk_test_` and 32 random bytes in base64url. 256 bits of
 * entropy, so a hash lookup needs no salt or slow KDF.
 */
export function generateApiKey(environment: string): string {
  return `sk_${environment === "production" ? "live" : "test"}_${base64urlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** What is stored of a key: its prefix and SHA-256, never the key. */
export async function storedFormOf(key: string): Promise<{ prefix: string; keyHash: string }> {
  return { prefix: key.slice(0, PREFIX_CHARS), keyHash: await sha256Hex(key) };
}
