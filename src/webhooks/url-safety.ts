import { DomainError } from "../lib/errors.ts";

/**
 * Where a webhook may be sent. The Worker must not become a way into networks it can reach, so a URL
 * whose host is an IP literal outside the public unicast space, in any notation the URL standard
 * accepts (decimal, octal and hex IPv4 are normalised by `new URL`; every IPv6 form that embeds an
 * IPv4 address is judged as IPv6: IPv4-compatible, -mapped, -translated, NAT64, 6to4, Teredo), is
 * refused, as are names that are local by definition (localhost, *.localhost, *.local, *.internal,
 * *.home.arpa and the cloud metadata names), with or without the trailing dot of a fully qualified
 * name. Names are not resolved: Workers have no DNS API and do not say which address a fetch
 * connected to (docs/webhooks.md, "URL rules"). The check runs at registration, at every change of
 * the URL and again before every attempt. Outside production, http and loopback are allowed so tests
 * and local development can run a receiver on this machine.
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
  const host = url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.+$/, "");
  const v4 = ipv4(host);
  const v6 = v4 ? undefined : ipv6(host);
  const loopback = isLocalName(host) || (v4 !== undefined && v4[0] === 127) || (v6 !== undefined && isIPv6Loopback(v6));
  if (loopback && allowInsecure) return url;
  const forbidden = loopback || FORBIDDEN_NAMES.has(host) || (v4 && isForbiddenIPv4(v4)) || (v6 && isForbiddenIPv6(v6));
  if (forbidden || (!v4 && !v6 && host.includes(":"))) {
    throw invalid("must not point to a private, loopback, link-local or metadata address");
  }
  return url;
}

const invalid = (message: string) =>
  new DomainError("validation_failed", `The webhook URL ${message}.`, { fields: [{ field: "url", message }] });

const FORBIDDEN_NAMES = new Set([
  "metadata.google.internal",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
]);

/** Names that only ever mean this machine or its local network (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const isLocalName = (host: string) =>
  host === "localhost" || /\.(localhost|local|internal|home\.arpa|localdomain)$/.test(host) || host === "localdomain";

/** Dotted-decimal IPv4, as `new URL` writes every IPv4 notation it accepts. */
function ipv4(host: string): [number, number, number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number) as [number, number, number, number];
  return parts.every((p) => p <= 255) ? parts : undefined;
}

/** Eight 16-bit groups, from any textual IPv6 form (with `::` and an optional dotted IPv4 tail). */
function ipv6(host: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/.test(host) || !host.includes(":")) return undefined;
  let text = host;
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4(dotted[1]!);
    if (!v4) return undefined;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, dotted.index + 1)}${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  return [...head, ...new Array<string>(8 - known).fill("0"), ...rest].map((g) => Number.parseInt(g, 16));
}

const isIPv6Loopback = (g: number[]) => g.slice(0, 7).every((x) => x === 0) && g[7] === 1;

function isForbiddenIPv4(p: [number, number, number, number]): boolean {
  const [a, b, c] = p;
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // shared address space (CGNAT)
    (a === 169 && b === 254) || // link-local, including 169.254.169.254 (cloud metadata)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // IETF protocol assignments, documentation
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // documentation
    (a === 203 && b === 0 && c === 113) || // documentation
    a >= 224 // multicast and reserved, broadcast
  );
}

/**
 * Only global unicast (2000::/3) may be sent to, and not its ranges that carry an IPv4 address or
 * lead nowhere public: 6to4 2002::/16 (its IPv4 may be private), Teredo 2001::/32, documentation
 * 2001:db8::/32. Everything outside 2000::/3 is refused: the unspecified and loopback addresses,
 * IPv4-compatible ::a.b.c.d, IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64
 * 64:ff9b::/96 and 64:ff9b:1::/48, discard 100::/64, unique local fc00::/7 (AWS metadata fd00:ec2::254),
 * link-local fe80::/10, site-local fec0::/10 and multicast ff00::/8.
 */
function isForbiddenIPv6(g: number[]): boolean {
  const [a, b] = g as [number, number];
  if ((a & 0xe000) !== 0x2000) return true;
  return a === 0x2002 || (a === 0x2001 && b === 0) || (a === 0x2001 && b === 0x0db8);
}
