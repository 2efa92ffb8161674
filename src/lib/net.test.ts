import { describe, expect, it } from "vitest";
import { ipv6Prefix64 } from "./net.ts";

describe("ipv6Prefix64", () => {
  it("keeps IPv4 and reduces every IPv6 spelling of one /64 to the same key", () => {
    expect(ipv6Prefix64("198.51.100.7")).toBe("198.51.100.7");
    const same = ["2001:db8:0:1::1", "2001:0db8:0000:0001:ffff::9", "2001:DB8:0:1:1:2:3:4"];
    expect(new Set(same.map(ipv6Prefix64))).toEqual(new Set(["2001:db8:0:1::/64"]));
    expect(ipv6Prefix64("2001:db8:0:2::1")).toBe("2001:db8:0:2::/64");
    expect(ipv6Prefix64("::1")).toBe("0:0:0:0::/64");
  });
});
