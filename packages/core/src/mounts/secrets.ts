import { readFile } from "node:fs/promises";

/**
 * Where a build secret's value comes from (`--secret id=x,src=FILE`, `--secret id=x,env=VAR`, or
 * the bytes themselves from a library caller). The value is read when a RUN mounts it, and goes
 * nowhere else: not into a layer, the config, history, a cache key, an event, an error or debug
 * output.
 */
export type SecretSource = { file: string } | { env: string } | { value: string | Uint8Array };

/** Reads a secret's value; `undefined` when its file or variable does not exist. */
export async function readSecret(
  source: SecretSource | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Buffer | undefined> {
  if (!source) return undefined;
  if ("value" in source) return Buffer.from(source.value);
  if ("env" in source) {
    const v = env[source.env];
    return v === undefined ? undefined : Buffer.from(v);
  }
  return readFile(source.file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new Error(`cannot read a secret's file (${e.code})`);
  });
}

/**
 * Parses one `--secret` flag value: `id=x,src=FILE` (also `source=`), `id=x,env=VAR`, with an
 * optional `type=file|env` (BuildKit's forms); `id=x` alone reads the variable or file named `x`
 * as BuildKit does (an environment variable when one is set, else a file). Returns
 * `undefined` and a reason when it cannot.
 */
export function parseSecretFlag(
  value: string,
  env: NodeJS.ProcessEnv = process.env,
): { id: string; source: SecretSource } | { error: string } {
  const fields = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return { error: `"${part}" is not key=value` };
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  const id = fields.get("id");
  if (!id) return { error: "id= is required" };
  const type = fields.get("type");
  const src = fields.get("src") ?? fields.get("source");
  const envName = fields.get("env");
  for (const k of fields.keys())
    if (!["id", "type", "src", "source", "env"].includes(k)) return { error: `unknown key "${k}"` };
  if (type !== undefined && type !== "file" && type !== "env") return { error: `type must be file or env` };
  if (envName !== undefined) return { id, source: { env: envName } };
  if (src !== undefined) return { id, source: type === "env" ? { env: src } : { file: src } };
  if (type === "env") return { id, source: { env: id } };
  if (type !== "file" && env[id] !== undefined) return { id, source: { env: id } };
  return { id, source: { file: id } };
}
