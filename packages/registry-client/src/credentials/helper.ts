import { spawn } from "node:child_process";
import { CredentialHelperError } from "../errors.js";
import type { Credential } from "./types.js";

/** What a helper prints when it has no credential for the server: means anonymous. */
const NOT_FOUND = /credentials not found/i;

interface HelperRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `docker-credential-<name> <action>` with `input` on stdin, as the docker credential helper
 * protocol specifies (`get`, `store`, `erase`). Its output is never put in an error message (it
 * may hold a secret).
 */
async function runHelper(
  name: string,
  action: "get" | "store" | "erase",
  input: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<HelperRun> {
  const program = `docker-credential-${name}`;
  return new Promise<HelperRun>((resolve, reject) => {
    const child = spawn(program, [action], { env, stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        new CredentialHelperError(
          program,
          e.code === "ENOENT" ? "not found on PATH" : `cannot run (${e.code ?? e.message})`,
          { cause: e },
        ),
      ),
    );
    child.on("close", (c) =>
      resolve({
        code: c ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/**
 * Runs `docker-credential-<name> get` with the server URL on stdin, as the docker credential
 * helper protocol specifies. Returns `undefined` for the "credentials not found" answer.
 * The helper's output is never put in an error message (it may hold a secret).
 */
export async function runCredentialHelper(
  name: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  const { code, stdout, stderr } = await runHelper(name, "get", serverUrl, env, timeoutMs);
  if (code !== 0) {
    if (NOT_FOUND.test(stdout) || NOT_FOUND.test(stderr)) return undefined;
    throw new CredentialHelperError(program, `exited with status ${code}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
  } catch {
    throw new CredentialHelperError(program, "printed something that is not JSON");
  }
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
  if (secret === "") return undefined;
  if (username === "<token>") return { identityToken: secret };
  return { username, password: secret };
}

/**
 * Stores a login with `docker-credential-<name> store`: `{"ServerURL","Username","Secret"}` on
 * stdin, as `docker login` does when `config.json` names a `credsStore` (or a `credHelpers`
 * entry for the registry). Throws {@link CredentialHelperError} (without the helper's output)
 * when it fails.
 *
 * @example
 * ```ts
 * await storeCredential("pass", "registry.example", { username: "ci", password }, process.env);
 * ```
 */
export async function storeCredential(
  name: string,
  serverUrl: string,
  login: { username: string; password: string },
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<void> {
  const input = JSON.stringify({ ServerURL: serverUrl, Username: login.username, Secret: login.password });
  const { code } = await runHelper(name, "store", input, env, timeoutMs);
  if (code !== 0)
    throw new CredentialHelperError(`docker-credential-${name}`, `store exited with status ${code}`);
}

/**
 * Erases a server's login with `docker-credential-<name> erase` (the server URL on stdin), as
 * `docker logout` does. A helper that answers "credentials not found" is not an error.
 */
export async function eraseCredential(
  name: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<void> {
  const { code, stdout, stderr } = await runHelper(name, "erase", serverUrl, env, timeoutMs);
  if (code !== 0 && !NOT_FOUND.test(stdout) && !NOT_FOUND.test(stderr))
    throw new CredentialHelperError(`docker-credential-${name}`, `erase exited with status ${code}`);
}
