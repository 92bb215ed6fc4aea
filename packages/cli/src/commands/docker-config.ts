import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { dockerConfigPath } from "@molt/registry-client";

/** The server key docker writes for Docker Hub. */
export const HUB_KEY = "https://index.docker.io/v1/";

/** The key `docker login`/`logout` use in `auths` for a registry: Docker Hub's URL, else the host. */
export function authKey(registry: string): string {
  const host = registry.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  return ["docker.io", "index.docker.io", "registry-1.docker.io"].includes(host) ? HUB_KEY : host;
}

/** Reads the docker config as an object (empty when absent), keeping every field it has. */
export async function readDockerConfig(file: string): Promise<Record<string, unknown>> {
  try {
    const doc = JSON.parse(await readFile(file, "utf8")) as unknown;
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not a JSON object");
    return doc as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`${file}: cannot read the docker config (${(e as Error).message})`);
  }
}

/**
 * Writes the docker config atomically with mode 0600 (its directory 0700 when made), as docker
 * does: a temp file beside it, then a rename.
 */
export async function writeDockerConfig(file: string, doc: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.molt-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(doc, null, "\t")}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** The config file `molt login` writes: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function configFile(env: NodeJS.ProcessEnv): string {
  return dockerConfigPath(env);
}
