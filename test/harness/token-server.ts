import { execFile } from "node:child_process";
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

/** Runs a program without writing to its stdin (which a quick exit would turn into EPIPE). */
const run = promisify(execFile);

/** One account of the token server. */
export interface TokenAccount {
  username: string;
  password: string;
  /** A refresh token (docker "identity token") accepted by the OAuth2 POST endpoint. */
  refreshToken?: string;
  /** Repositories (exact names or `prefix/*`) and the actions granted on them. */
  grants: Array<{ repository: string; actions: string[] }>;
}

/** What the token server saw for one token request (the credential itself is not kept). */
export interface TokenRequestLog {
  method: "GET" | "POST";
  account?: string;
  grantType?: string;
  scopes: string[];
  service?: string;
  granted: Array<{ name: string; actions: string[] }>;
}

/** A running token server. */
export interface TokenServer {
  /** `http://127.0.0.1:PORT/token` */
  realm: string;
  service: string;
  issuer: string;
  /** PEM file with the certificate registries must trust (`rootcertbundle`). */
  certFile: string;
  requests: TokenRequestLog[];
  /** YAML for `startRegistry({ authYaml })`. */
  authYaml: string;
  /** Makes the next `n` issued tokens unusable (wrong audience) to exercise refresh on 401. */
  spoilNext(n: number): void;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/**
 * A token server following the docker token authentication specification: GET `/token` with
 * `service`, `scope` (repeated) and optional Basic auth, and the OAuth2 POST form
 * (`grant_type=password|refresh_token`). It answers `{token, access_token, expires_in,
 * issued_at}` with an RS256 JWT whose `x5c` header carries its certificate, granting the
 * intersection of the requested and the account's allowed actions. Anonymous callers get `pull`
 * on repositories under `public/`.
 */
export async function startTokenServer(dir: string, accounts: TokenAccount[]): Promise<TokenServer> {
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    "/CN=molt-token-server",
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw;
  const service = "molt-test-registry";
  const issuer = "molt-test-token-server";
  const requests: TokenRequestLog[] = [];
  let spoil = 0;

  const allowed = (acct: TokenAccount | undefined, repo: string): string[] => {
    if (!acct) return repo.startsWith("public/") ? ["pull"] : [];
    const out = new Set<string>();
    for (const g of acct.grants) {
      const match = g.repository.endsWith("/*")
        ? repo.startsWith(g.repository.slice(0, -1))
        : g.repository === repo;
      if (match) for (const a of g.actions) out.add(a);
    }
    return [...out];
  };

  const issue = (acct: TokenAccount | undefined, scopes: string[]) => {
    const granted: Array<{ type: string; name: string; actions: string[] }> = [];
    for (const s of scopes) {
      const m = /^repository:([^:]+):(.+)$/.exec(s);
      if (!m) continue;
      const may = allowed(acct, m[1]!);
      const actions = m[2]!.split(",").filter((a) => may.includes(a));
      granted.push({ type: "repository", name: m[1]!, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
    const claims = {
      iss: issuer,
      sub: acct?.username ?? "",
      aud: spoil > 0 ? "somebody-else" : service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: granted,
    };
    if (spoil > 0) spoil--;
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign("sha256", Buffer.from(input), key))}`;
    return { token, granted };
  };

  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    const deny = (status: number, error: string) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: error, message: "access to the token endpoint denied" }] }));
    };
    let acct: TokenAccount | undefined;
    let scopes: string[];
    let svc: string | undefined;
    let grantType: string | undefined;
    if (req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      grantType = form.get("grant_type") ?? undefined;
      svc = form.get("service") ?? undefined;
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      if (grantType === "refresh_token") {
        acct = accounts.find((a) => a.refreshToken && a.refreshToken === form.get("refresh_token"));
      } else if (grantType === "password") {
        acct = accounts.find(
          (a) => a.username === form.get("username") && a.password === form.get("password"),
        );
      }
      if (!acct) {
        requests.push({ method: "POST", grantType, scopes, service: svc, granted: [] });
        deny(401, "UNAUTHORIZED");
        return;
      }
    } else {
      svc = url.searchParams.get("service") ?? undefined;
      scopes = url.searchParams
        .getAll("scope")
        .flatMap((s) => s.split(" "))
        .filter(Boolean);
      const authz = req.headers.authorization;
      if (authz?.startsWith("Basic ")) {
        const [u, ...p] = Buffer.from(authz.slice(6), "base64").toString("utf8").split(":");
        acct = accounts.find((a) => a.username === u && a.password === p.join(":"));
        if (!acct) {
          requests.push({ method: "GET", scopes, service: svc, granted: [] });
          deny(401, "UNAUTHORIZED");
          return;
        }
      }
    }
    if (svc !== service) {
      deny(400, "INVALID_SERVICE");
      return;
    }
    const { token, granted } = issue(acct, scopes);
    requests.push({
      method: req.method === "POST" ? "POST" : "GET",
      account: acct?.username,
      grantType,
      scopes,
      service: svc,
      granted: granted.map((g) => ({ name: g.name, actions: g.actions })),
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const realm = `http://127.0.0.1:${port}/token`;
  return {
    realm,
    service,
    issuer,
    certFile,
    requests,
    authYaml: `  token:\n    realm: ${realm}\n    service: ${service}\n    issuer: ${issuer}\n    rootcertbundle: ${certFile}`,
    spoilNext(n) {
      spoil = n;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
