import { readFile } from "node:fs/promises";
import { CredentialConfigError } from "../errors.js";
import type { Credential } from "./types.js";

/** The fields of a docker `config.json` / podman `auth.json` that hold credentials. */
export interface AuthConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** One `auths` entry. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * Reads a credentials file. A missing file is `undefined` (anonymous); an unreadable or
 * malformed one is a {@link CredentialConfigError} (never quoting its content).
 */
export async function readAuthConfig(file: string): Promise<AuthConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new CredentialConfigError(file, `cannot read (${code ?? "error"})`, { cause: e });
  }
  if (text.trim() === "") return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CredentialConfigError(file, "is not valid JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new CredentialConfigError(file, "is not a JSON object");
  }
  return doc as AuthConfigFile;
}

/**
 * The host part of a key in `auths`/`credHelpers`: strips `http(s)://` and any path, as docker
 * does (`https://index.docker.io/v1/` → `index.docker.io`).
 */
export function keyHost(key: string): string {
  let k = key.replace(/^https?:\/\//, "");
  const slash = k.indexOf("/");
  if (slash >= 0) k = k.slice(0, slash);
  return k;
}

/** Turns an `auths` entry into a credential, or `undefined` when it holds none. */
export function entryCredential(entry: AuthEntry, file: string): Credential | undefined {
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  let username = entry.username ?? "";
  let password = entry.password ?? "";
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new CredentialConfigError(file, "an `auth` entry is not base64 of user:password");
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) return { identityToken: entry.identitytoken, username };
  if (username === "" && password === "") return undefined;
  return { username, password };
}
