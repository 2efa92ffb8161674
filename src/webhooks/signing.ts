import { Webhook } from "standardwebhooks";
import { base64Encode } from "../lib/base64.ts";

/** A new signing secret in the Standard Webhooks form: whsec_ and 32 random bytes, base64. */
export function newWebhookSecret(): string {
  return `whsec_${base64Encode(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/**
 * The three Standard Webhooks headers for one attempt. With more than one secret (the overlap after
 * a rotation) the signature header carries one `v1,…` per secret, space-separated, and a receiver
 * holding either secret verifies it.
 */
export function signedHeaders(secrets: readonly string[], messageId: string, at: Date, body: string): Record<string, string> {
  return {
    "webhook-id": messageId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((s) => new Webhook(s).sign(messageId, at, body)).join(" "),
  };
}
