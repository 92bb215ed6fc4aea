import type { ProxyOptions } from "../options.js";

/** Reads proxy settings from the environment (upper- and lower-case forms, lower-case first like curl). */
export function proxyFromEnv(env: NodeJS.ProcessEnv): ProxyOptions {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  const out: ProxyOptions = {};
  const http = pick("http_proxy");
  const https = pick("https_proxy");
  const no = pick("no_proxy");
  if (http) out.httpProxy = http;
  if (https) out.httpsProxy = https;
  if (no) out.noProxy = no;
  return out;
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\./.test(h);
}

/**
 * The proxy URL to use for `url`, or `undefined` for a direct connection. Follows the common
 * `NO_PROXY` rules: `*` disables proxies, entries match a host or any of its subdomains
 * (`example.com`, `.example.com`), optionally with a port; loopback addresses are never proxied
 * when settings come from the environment (as Go's and docker's clients do).
 */
export function proxyFor(url: URL, proxy: ProxyOptions, fromEnv: boolean): string | undefined {
  const target = url.protocol === "https:" ? proxy.httpsProxy : proxy.httpProxy;
  if (!target) return undefined;
  const hostname = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (fromEnv && isLoopback(hostname)) return undefined;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const raw of (proxy.noProxy ?? "").split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return undefined;
    if (entry.includes("/")) {
      if (inCidr(hostname, entry)) return undefined;
      continue;
    }
    let host = entry;
    let entryPort: string | undefined;
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const hostPort = /^([^:]+):(\d+)$/.exec(entry);
    if (bracket) {
      host = bracket[1]!;
      entryPort = bracket[2];
    } else if (hostPort) {
      host = hostPort[1]!;
      entryPort = hostPort[2];
    }
    host = host.replace(/^\*?\./, "");
    if (entryPort && entryPort !== port) continue;
    if (hostname === host || hostname.endsWith(`.${host}`)) return undefined;
  }
  return target;
}

function ipv4(text: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** True when an IPv4 host lies in an IPv4 CIDR block such as `10.0.0.0/8`. */
function inCidr(hostname: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  const ip = ipv4(hostname);
  const base = ipv4(net ?? "");
  const bits = Number(bitsText);
  if (ip === undefined || base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32)
    return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ip & mask) >>> 0 === (base & mask) >>> 0;
}
