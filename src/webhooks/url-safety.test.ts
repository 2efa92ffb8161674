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

describe("webhook URL safety", () => {
  it("accepts public https URLs", () => {
    for (const url of [
      "https://hooks.example.com/in",
      "https://8.8.8.8/x",
      "https://[2606:4700::1111]/x",
      "https://example.com:8443/a?b=c",
    ])
      expect(refused(url), url).toBe(false);
  });

  it("refuses http, credentials and non-URLs in production", () => {
    for (const url of ["http://hooks.example.com/", "https://user:pw@example.com/", "ftp://example.com/", "not a url", "/relative"])
      expect(refused(url), url).toBe(true);
  });

  it("refuses private, loopback, link-local, CGNAT, multicast and metadata addresses by literal", () => {
    for (const url of [
      "https://10.0.0.1/",
      "https://172.16.5.4/",
      "https://172.31.255.255/",
      "https://192.168.1.1/",
      "https://127.0.0.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://100.64.0.1/",
      "https://0.0.0.0/",
      "https://224.0.0.1/",
      "https://[::1]/",
      "https://[fe80::1]/",
      "https://[fc00::1]/",
      "https://[fd00:ec2::254]/",
      "https://[::ffff:10.0.0.1]/",
      "https://[::ffff:169.254.169.254]/",
      "https://localhost/",
      "https://metadata.google.internal/",
    ])
      expect(refused(url), url).toBe(true);
  });

  it("outside production, http and loopback are allowed, private networks still are not", () => {
    for (const url of ["http://127.0.0.1:8790/hooks", "http://localhost:3000/", "http://[::1]:9000/"])
      expect(refused(url, true), url).toBe(false);
    for (const url of ["http://10.0.0.1/", "http://169.254.169.254/", "http://192.168.0.10/"]) expect(refused(url, true), url).toBe(true);
  });
});
