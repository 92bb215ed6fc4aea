import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, connect, type Socket } from "node:net";

/** What the fault proxy does with one request. */
export type FaultAction =
  | { kind: "forward"; addHeaders?: Record<string, string> }
  /** Close the connection without answering (after reading `afterRequestBytes` of the request body: a drop mid-upload). */
  | { kind: "drop"; afterRequestBytes?: number }
  /** Answer with this status (and headers) instead of forwarding. */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, but cut the connection after `bytes` bytes of the response body. */
  | { kind: "truncate"; bytes: number }
  /** Forward, but flip one byte of the response body (and keep Docker-Content-Digest). */
  | { kind: "corrupt" }
  /** Answer 307 to `location` (e.g. a storage host). */
  | { kind: "redirect"; location: string }
  /**
   * Stall: without `afterBytes`, stop reading the request and never answer (a registry that
   * hangs, or stops reading an upload); with it, forward the headers and that many body bytes,
   * then send nothing more, keeping the connection open.
   */
  | { kind: "stall"; afterBytes?: number }
  /** Forward, but send the response body `bytes` at a time, one chunk every `intervalMs`. */
  | { kind: "trickle"; bytes: number; intervalMs: number }
  /** Forward, but hold the registry's answer back for `ms` (a slow round trip). */
  | { kind: "delay"; ms: number };

/** A request the proxy saw: method, path (with query), and its headers. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  /** When it arrived (`performance.now()` of the test process). */
  at: number;
  /** Which client connection it came on (1 for the fault proxy's first, counting up). */
  connection?: number;
}

/** A running fault proxy: `host` is `127.0.0.1:PORT`. */
export interface FaultProxy {
  host: string;
  seen: SeenRequest[];
  /** Replace the rule deciding each request's fate. */
  setRule(rule: FaultRule): void;
  stop(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Serve HTTPS with this certificate; with `clientCa`, require a client certificate it signed. */
  tls?: { cert: string; key: string; clientCa?: string };
}

/** Decides the fate of the `n`-th request (0-based) that matched nothing before. */
export type FaultRule = (req: IncomingMessage, n: number) => FaultAction;

/**
 * Starts an HTTP proxy on loopback in front of a plain-HTTP registry (`upstream` is
 * `127.0.0.1:PORT`). Every request goes through `rule`, which can forward it, drop the
 * connection, answer an error status, cut or corrupt the body, or redirect. It only stands in
 * for a misbehaving network or registry; the registry behind it is real.
 */
export async function startFaultProxy(
  upstream: string,
  rule: FaultRule = () => ({ kind: "forward" }),
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  let current = rule;
  let n = 0;
  const seen: SeenRequest[] = [];
  const [upHost, upPort] = upstream.split(":");
  const connections = new WeakMap<object, number>();
  let connected = 0;
  const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      at: performance.now(),
      connection: connections.get(req.socket) ?? 0,
    });
    const action = current(req, n++);
    if (action.kind === "drop") {
      const after = action.afterRequestBytes ?? 0;
      if (after <= 0) {
        req.socket.destroy();
        return;
      }
      let got = 0;
      req.on("data", (chunk: Buffer) => {
        got += chunk.length;
        if (got >= after) req.socket.destroy();
      });
      req.on("end", () => req.socket.destroy());
      return;
    }
    if (action.kind === "status") {
      req.resume();
      res.writeHead(action.status, { "content-type": "application/json", ...action.headers });
      res.end(action.body ?? "");
      return;
    }
    if (action.kind === "stall" && action.afterBytes === undefined) {
      req.pause();
      return;
    }
    if (action.kind === "redirect") {
      req.resume();
      res.writeHead(307, { location: action.location, "content-length": "0" });
      res.end();
      return;
    }
    const headers = { ...req.headers, host: upstream };
    const up = httpRequest(
      { host: upHost, port: Number(upPort), method: req.method, path: req.url, headers },
      (upRes) => {
        const outHeaders = { ...upRes.headers, ...(action.kind === "forward" ? action.addHeaders : {}) };
        // Location headers point at the upstream; rewrite them to come back through us.
        if (typeof outHeaders.location === "string") {
          outHeaders.location = outHeaders.location.replace(
            `http://${upstream}`,
            `${options.tls ? "https" : "http"}://${req.headers.host}`,
          );
        }
        if (action.kind === "delay") {
          upRes.pause();
          const t = setTimeout(() => {
            res.writeHead(upRes.statusCode ?? 502, outHeaders);
            upRes.pipe(res);
          }, action.ms);
          res.on("close", () => clearTimeout(t));
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, outHeaders);
        if (action.kind === "truncate") {
          let sent = 0;
          upRes.on("data", (chunk: Buffer) => {
            const room = action.bytes - sent;
            if (room <= 0) return;
            res.write(chunk.subarray(0, room));
            sent += Math.min(room, chunk.length);
            if (sent >= action.bytes) setTimeout(() => req.socket.destroy(), 20);
          });
          upRes.on("end", () => res.end());
          return;
        }
        if (action.kind === "stall") {
          let sent = 0;
          const limit = action.afterBytes ?? 0;
          upRes.on("data", (chunk: Buffer) => {
            const room = limit - sent;
            if (room <= 0) return;
            res.write(chunk.subarray(0, room));
            sent += Math.min(room, chunk.length);
          });
          return;
        }
        if (action.kind === "trickle") {
          const parts: Buffer[] = [];
          upRes.on("data", (chunk: Buffer) => parts.push(chunk));
          upRes.on("end", () => {
            const all = Buffer.concat(parts);
            let at = 0;
            const tick = setInterval(() => {
              if (res.destroyed || at >= all.length) {
                clearInterval(tick);
                if (!res.destroyed) res.end();
                return;
              }
              res.write(all.subarray(at, at + action.bytes));
              at += action.bytes;
            }, action.intervalMs);
            res.on("close", () => clearInterval(tick));
          });
          return;
        }
        if (action.kind === "corrupt") {
          let first = true;
          upRes.on("data", (chunk: Buffer) => {
            if (first && chunk.length > 0) {
              const copy = Buffer.from(chunk);
              copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
              res.write(copy);
              first = false;
            } else res.write(chunk);
          });
          upRes.on("end", () => res.end());
          return;
        }
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  };
  const server: Server = options.tls
    ? createHttpsServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.clientCa
            ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        handler,
      )
    : createServer(handler);
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    connections.set(socket, ++connected);
  });
  // HTTP CONNECT: act as a forward proxy (tunnels to any loopback host), recording the target.
  server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    seen.push({
      method: "CONNECT",
      url: req.url ?? "",
      headers: req.headers,
      at: performance.now(),
      connection: connections.get(req.socket) ?? 0,
    });
    const [h, p] = (req.url ?? "").split(":");
    const out = connect(Number(p), h ?? "127.0.0.1", () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) out.write(head);
      out.pipe(socket);
      socket.pipe(out);
    });
    out.on("error", () => socket.destroy());
    socket.on("error", () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    setRule(r) {
      current = r;
      n = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A tiny storage host for redirect tests: serves given bytes at `/blob/<name>` and records headers. */
export async function startStorageHost(
  blobs: Map<string, Buffer>,
): Promise<{ origin: string; seen: SeenRequest[]; stop(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, at: performance.now() });
    const name = (req.url ?? "").replace(/^\/blob\//, "").replace(/\?.*$/, "");
    const body = blobs.get(decodeURIComponent(name));
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
