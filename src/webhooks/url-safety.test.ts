import { describe, expect, it } from "vitest";
import { DomainError } from "../lib/errors.ts";
import { checkWebhookUrl } from "./url-safety.ts";

const refused = (url: string, allowInsecure = false) => {
  try {
    checkWebhookUrl(url, allowInsecure);
    return false;
  } catch (err) {
    return err instanceof DomainError && err.code === "validation_failed";
  }
};

const expectRefused = (urls: string[], allowInsecure = false) => {
  for (const url of urls) expect(refused(url, allowInsecure), url).toBe(true);
};

describe("webhook URL safety", () => {
  it("accepts public https URLs", () => {
    for (const url of [
      "https://hooks.example.com/in",
      "https://hooks.example.com./in",
      "https://8.8.8.8/x",
      "https://[2606:4700::1111]/x",
      "https://[2a00:1450:4001:80b::200e]/x",
      "https://example.com:8443/a?b=c",
      "https://internal.example.com/",
      "https://localhost.example.com/",
    ])
      expect(refused(url), url).toBe(false);
  });

  it("refuses http, credentials and non-URLs in production", () => {
    expectRefused(["http://hooks.example.com/", "https://user:pw@example.com/", "ftp://example.com/", "not a url", "/relative"]);
  });

  it("refuses private, loopback, link-local, CGNAT, multicast, documentation and metadata IPv4 literals", () => {
    expectRefused([
      "https://10.0.0.1/",
      "https://172.16.5.4/",
      "https://172.31.255.255/",
      "https://192.168.1.1/",
      "https://127.0.0.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://100.64.0.1/",
      "https://100.100.100.200/",
      "https://0.0.0.0/",
      "https://224.0.0.1/",
      "https://255.255.255.255/",
      "https://192.0.0.192/",
      "https://192.0.2.1/",
      "https://198.51.100.7/",
      "https://203.0.113.9/",
      "https://192.88.99.1/",
    ]);
  });

  it("refuses every IPv4 notation the URL standard accepts: decimal, octal, hex, short forms, a trailing dot", () => {
    expectRefused([
      "https://2130706433/",
      "https://017700000001/",
      "https://0x7f000001/",
      "https://0x7f.1/",
      "https://127.1/",
      "https://0177.0.0.1/",
      "https://127.0.0.1./",
      "https://0xa9fea9fe/",
      "https://10.1/",
    ]);
  });

  it("refuses IPv6 loopback, unspecified, unique local, link-local, site-local and multicast", () => {
    expectRefused([
      "https://[::1]/",
      "https://[0:0:0:0:0:0:0:1]/",
      "https://[::]/",
      "https://[fe80::1]/",
      "https://[fe80::1%25eth0]/",
      "https://[fc00::1]/",
      "https://[fd00:ec2::254]/",
      "https://[fec0::1]/",
      "https://[feff::1]/",
      "https://[ff02::1]/",
      "https://[100::1]/",
    ]);
  });

  it("refuses IPv6 forms that embed an IPv4 address: compatible, mapped, translated, NAT64, 6to4, Teredo", () => {
    expectRefused([
      // IPv4-compatible, dotted and hex
      "https://[::127.0.0.1]/",
      "https://[::7f00:1]/",
      "https://[::10.0.0.1]/",
      "https://[::8.8.8.8]/",
      // IPv4-mapped, dotted, hex and in full
      "https://[::ffff:10.0.0.1]/",
      "https://[::ffff:169.254.169.254]/",
      "https://[::ffff:7f00:1]/",
      "https://[0:0:0:0:0:ffff:127.0.0.1]/",
      "https://[::ffff:8.8.8.8]/",
      // IPv4-translated
      "https://[::ffff:0:10.0.0.1]/",
      "https://[::ffff:0:a00:1]/",
      // NAT64, well-known and local-use prefixes
      "https://[64:ff9b::10.0.0.1]/",
      "https://[64:ff9b::a9fe:a9fe]/",
      "https://[64:ff9b:1::a00:1]/",
      // 6to4 (2002:a00:1:: carries 10.0.0.1) and Teredo
      "https://[2002:a00:1::]/",
      "https://[2002:7f00:1::1]/",
      "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
      // documentation
      "https://[2001:db8::1]/",
    ]);
  });

  it("refuses local and metadata names, in any case and with the trailing dot of a fully qualified name", () => {
    expectRefused([
      "https://localhost/",
      "https://localhost./",
      "https://LOCALHOST./",
      "https://api.localhost/",
      "https://api.localhost./",
      "https://metadata.google.internal/",
      "https://metadata.google.internal./",
      "https://Metadata.Google.Internal./",
      "https://metadata/",
      "https://metadata./",
      "https://instance-data.ec2.internal./",
      "https://printer.local/",
      "https://db.corp.internal/",
      "https://router.home.arpa/",
      "https://host.localdomain/",
      "https://localhost../",
    ]);
  });

  it("outside production, http and loopback are allowed, private networks still are not", () => {
    for (const url of ["http://127.0.0.1:8790/hooks", "http://localhost:3000/", "http://[::1]:9000/", "http://localhost.:3000/"])
      expect(refused(url, true), url).toBe(false);
    expectRefused(
      ["http://10.0.0.1/", "http://169.254.169.254/", "http://192.168.0.10/", "http://[::ffff:10.0.0.1]/", "http://[fec0::1]/"],
      true,
    );
  });
});
