import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options for {@link startRegistry}: extra `auth`/`http.tls` config for the real registry. */
export interface RegistryOptions {
  /** YAML fragment placed under `auth:` (e.g. htpasswd or token settings), indented by the caller. */
  authYaml?: string;
  /** Certificate and key paths: the registry then serves HTTPS. */
  tls?: { certificate: string; key: string };
  /** Record the registry's own access log (every request it served), read with `accessLog()`. */
  accessLog?: boolean;
}

/** A running Debian `docker-registry` bound to 127.0.0.1 with its own temporary storage. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  dir: string;
  /** With `accessLog`: the request lines the registry logged so far (`GET /v2/…`), oldest first. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** Throws a loud error when a program the tests rely on is not installed. */
export function requireBinary(name: string, hint: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(
      `test harness: required program "${name}" is not installed (${hint}); run bash .ci/run or apt-get install it`,
    );
  }
}

/**
 * Starts Debian's `docker-registry` (CNCF distribution) on a free loopback port with a temporary
 * storage directory, and waits until `GET /v2/` answers.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  requireBinary("docker-registry", "Debian package docker-registry");
  const dir = await mkdtemp(join(tmpdir(), "molt-registry-"));
  const port = await freePort();
  const tls = options.tls
    ? `\n  tls:\n    certificate: ${options.tls.certificate}\n    key: ${options.tls.key}`
    : "";
  const auth = options.authYaml ? `auth:\n${options.authYaml}\n` : "";
  const config = `version: 0.1
log:
  level: error
  accesslog: { disabled: ${options.accessLog ? "false" : "true"} }
storage:
  filesystem: { rootdirectory: ${join(dir, "data")} }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:${port}
  secret: molt-test-secret${tls}
${auth}`;
  await writeFile(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", options.accessLog ? "pipe" : "ignore", "pipe"],
  });
  let access = "";
  child.stdout?.on("data", (d) => {
    access += d.toString();
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d.toString();
  });
  const scheme = options.tls ? "https" : "http";
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited early: ${stderr}`);
    const ok = await probe(scheme, port);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    accessLog: () =>
      [...access.matchAll(/"((?:GET|HEAD|PUT|POST|PATCH|DELETE) [^ "]+) HTTP\/[0-9.]+"/g)].map((m) => m[1]!),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 50));
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** True when `GET /v2/` answers 200 or 401 (auth configured). */
function probe(scheme: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (scheme === "https" ? httpsRequest : httpRequest)(
      { host: "127.0.0.1", port, path: "/v2/", method: "GET", rejectUnauthorized: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Deletes a blob from one repository of a plain-HTTP registry through its API, as an operator
 * would behind a cache's back (`startRegistry` enables deletes); the HTTP status (202 when done).
 */
export async function deleteBlob(host: string, repository: string, digest: string): Promise<number> {
  const res = await fetch(`http://${host}/v2/${repository}/blobs/${digest}`, { method: "DELETE" });
  await res.body?.cancel();
  return res.status;
}
