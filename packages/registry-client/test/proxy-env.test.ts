import { describe, expect, it } from "vitest";
import { proxyFor, proxyFromEnv } from "../src/transport/proxy.js";

const env = proxyFromEnv({
  HTTPS_PROXY: "http://proxy.corp:3128",
  http_proxy: "http://lower.corp:8080",
  HTTP_PROXY: "http://upper.corp:8080",
  NO_PROXY: "internal.example, .svc.local,registry.corp:5000,10.0.0.0/8,[::2]",
});
const via = (url: string, fromEnv = true) => proxyFor(new URL(url), env, fromEnv);

describe("HTTP(S)_PROXY / NO_PROXY", () => {
  it("picks the proxy by scheme, lower-case variables first (like curl)", () => {
    expect(via("https://ghcr.io/v2/")).toBe("http://proxy.corp:3128");
    expect(via("http://registry.example/v2/")).toBe("http://lower.corp:8080");
  });

  it("honours NO_PROXY hosts, subdomains, leading dots, ports and CIDR blocks", () => {
    expect(via("https://internal.example/v2/")).toBeUndefined();
    expect(via("https://a.internal.example/v2/")).toBeUndefined();
    expect(via("https://notinternal.example/v2/")).toBe("http://proxy.corp:3128");
    expect(via("https://reg.svc.local/v2/")).toBeUndefined();
    expect(via("https://registry.corp:5000/v2/")).toBeUndefined();
    expect(via("https://registry.corp/v2/")).toBe("http://proxy.corp:3128");
    expect(via("https://10.2.3.4/v2/")).toBeUndefined();
    expect(via("https://11.2.3.4/v2/")).toBe("http://proxy.corp:3128");
    expect(via("https://[::2]/v2/")).toBeUndefined();
  });

  it("never proxies loopback when the settings come from the environment", () => {
    expect(via("http://127.0.0.1:5000/v2/")).toBeUndefined();
    expect(via("http://localhost:5000/v2/")).toBeUndefined();
    expect(via("http://[::1]:5000/v2/")).toBeUndefined();
    expect(via("http://127.0.0.1:5000/v2/", false)).toBe("http://lower.corp:8080");
  });

  it("NO_PROXY=* turns proxies off", () => {
    expect(
      proxyFor(new URL("https://ghcr.io/"), { httpsProxy: "http://p:1", noProxy: "*" }, true),
    ).toBeUndefined();
  });
});
