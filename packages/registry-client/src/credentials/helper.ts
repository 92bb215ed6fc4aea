import { spawn } from "node:child_process";
import { CredentialHelperError } from "../errors.js";
import type { Credential } from "./types.js";

/** What a helper prints when it has no credential for the server: means anonymous. */
const NOT_FOUND = /credentials not found/i;

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
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(program, ["get"], { env, stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
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
      child.stdin.end(serverUrl);
    },
  );
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
