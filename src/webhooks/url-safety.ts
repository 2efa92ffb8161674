import { DomainError } from "../lib/errors.ts";

/**
 * Where a webhook may be sent. The Worker must not become a way into networks it can reach, so a URL
 * naming a private, loopback, link-local, shared (CGNAT), multicast or cloud metadata address by
 * literal IP is refused, as are names that are such addresses by definition (localhost,
 * metadata.google.internal). Host names are not resolved here: Workers' fetch only reaches the public
 * internet in production. Outside production, http and loopback are allowed so tests and local
 * development can run a receiver on this machine.
 */
export function checkWebhookUrl(raw: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid("must be an absolute URL");
  }
  if (url.username || url.password) throw invalid("must not carry credentials");
  if (url.protocol !== "https:" && !(allowInsecure && url.protocol === "http:")) throw invalid("must use https");
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host.endsWith(".localhost") || isLoopback(host);
  if (loopback && allowInsecure) return url;
  if (loopback || FORBIDDEN_NAMES.has(host) || isForbiddenIPv4(host) || isForbiddenIPv6(host)) {
    throw invalid("must not point to a private, loopback, link-local or metadata address");
  }
  return url;
}

const invalid = (message: string) =>
  new DomainError("validation_failed", `The webhook URL ${message}.`, { fields: [{ field: "url", message }] });

const FORBIDDEN_NAMES = new Set(["metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"]);

function ipv4(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

function isLoopback(host: string): boolean {
  const v4 = ipv4(host);
  if (v4) return v4[0] === 127;
  return host === "::1" || host === "0:0:0:0:0:0:0:1";
}

function isForbiddenIPv4(host: string): boolean {
  const p = ipv4(host);
  if (!p) return false;
  const [a, b] = p as [number, number, number, number];
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // shared address space (CGNAT)
    (a === 169 && b === 254) || // link-local, including 169.254.169.254 (cloud metadata)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && p[2] === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast and reserved, broadcast
  );
}

function isForbiddenIPv6(host: string): boolean {
  if (!host.includes(":")) return false;
  if (host === "::" || host === "::1") return true;
  // IPv4-mapped (::ffff:a.b.c.d, or its hex form as URL writes it: ::ffff:a0b:c0d): judge the IPv4.
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(host);
  if (mapped) {
    const v4 = mapped[1] ?? hexPairToIPv4(mapped[2]!, mapped[3]!);
    return isForbiddenIPv4(v4) || isLoopback(v4);
  }
  const first = Number.parseInt(host.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    host.startsWith("fd00:ec2::") // AWS metadata over IPv6 (inside fc00::/7 too)
  );
}

function hexPairToIPv4(hi: string, lo: string): string {
  const h = Number.parseInt(hi, 16);
  const l = Number.parseInt(lo, 16);
  return `${h >> 8}.${h & 255}.${l >> 8}.${l & 255}`;
}
