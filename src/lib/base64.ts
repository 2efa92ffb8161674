/** Standard base64 of bytes (dead letters keep binary bodies this way). */
export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** URL-safe base64 without padding (RFC 4648 §5): cursors and API keys. */
export const base64urlEncode = (bytes: Uint8Array): string =>
  base64Encode(bytes).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/** Throws on text that is not base64url. */
export function base64urlDecode(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
