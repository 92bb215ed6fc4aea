import { constants } from "node:fs";
import { access, chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContextSource } from "@molt/context-source";
import type { Mount } from "@molt/parser";
import type { Registry } from "@molt/registry-client";
import type { ErrorLocation } from "../errors.js";
import { containerToHostId, type IdMap } from "../runner/index.js";
import type { StageRuntime } from "../stage/runtime.js";
import { CacheMountStore, defaultCacheMountDir } from "./cache-store.js";
import { MountSecretNotFoundError, MountSshError, MountSshNotFoundError } from "./errors.js";
import type { CacheMountOptions } from "./options.js";
import { readSecret } from "./secrets.js";
import { cleanSource, copyFromContext, directContextPath, pathInRoot, writableCopy } from "./sources.js";
import { type SshAgent, startSshAgent } from "./ssh.js";
import { CacheMountTravel, cacheMountTravel, setCacheMountTravel } from "./travel.js";
import type { RunMount } from "./types.js";

/** What one RUN's `--mount`s became: runner mounts, environment, and what to undo after. */
export interface PreparedMounts {
  mounts: RunMount[];
  /** `type=secret,env=NAME` variables (values never logged). */
  secretEnv: Record<string, string>;
  /** Plain variables the mounts add (`SSH_AUTH_SOCK`). */
  env: string[];
  /** Lets cache locks go, stops SSH proxies, removes secret files and writable copies. */
  release(): Promise<void>;
}

const contextCopies = new WeakMap<ContextSource, Map<string, Promise<string>>>();
const stores = new Map<string, CacheMountStore>();

/** The cache-mount store a build uses (`cacheMounts.dir`, else {@link defaultCacheMountDir}). */
export function cacheStoreFor(dir: string | undefined): CacheMountStore {
  const root = dir ?? defaultCacheMountDir();
  let s = stores.get(root);
  if (!s) {
    s = new CacheMountStore(root);
    stores.set(root, s);
  }
  return s;
}

/**
 * Sets up travelling cache mounts for a build with `cacheMounts.repo` (see {@link CacheMountTravel});
 * returns the exporter to call after the build succeeded, or `undefined`.
 */
export function startCacheMountTravel(
  options: { cacheMounts?: CacheMountOptions | undefined },
  client: Registry,
): CacheMountTravel | undefined {
  const repo = options.cacheMounts?.repo;
  if (!repo) return undefined;
  const travel = new CacheMountTravel(client, repo, cacheStoreFor(options.cacheMounts?.dir));
  setCacheMountTravel(options, travel);
  return travel;
}

/** `/dev/shm` when it is a writable directory, else `fallback`. */
async function secretParent(fallback: string): Promise<string> {
  try {
    await access("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return fallback;
  }
}

function hostId(map: IdMap | undefined, kind: "uid" | "gid", id: number): number {
  if (!map) return id;
  const own = kind === "uid" ? (process.geteuid?.() ?? 0) : (process.getegid?.() ?? 0);
  return containerToHostId(map, kind, id) ?? own;
}

/**
 * Turns a RUN's `--mount`s into what the runner mounts, following the Dockerfile reference:
 * bind (context after `.dockerignore`, a stage, or an image; read-only unless `rw`, whose
 * writes land in a throwaway copy), cache (a persistent directory with BuildKit's sharing modes,
 * seeded from `from`/`source` when new), tmpfs, secret (a file and/or a variable; a missing
 * non-required secret mounts nothing) and ssh (an agent socket; `SSH_AUTH_SOCK` points at the
 * first). On failure everything taken so far is given back.
 */
export async function prepareRunMounts(
  mounts: readonly Mount[],
  rt: StageRuntime,
  location: ErrorLocation,
  idMap: IdMap | undefined,
): Promise<PreparedMounts> {
  const out: RunMount[] = [];
  const secretEnv: Record<string, string> = {};
  const env: string[] = [];
  const undo: (() => Promise<void>)[] = [];
  const signal = rt.options.signal;
  let scratch: string | undefined;
  const stepDir = async () => (scratch ??= await rt.scratchDir("mount"));
  const release = async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
  let sshIndex = 0;
  try {
    for (const m of mounts) {
      switch (m.type) {
        case "bind": {
          let source = await bindSource(m.from, cleanSource(m.source), rt, location);
          if (!m.readonly) source = await writableCopy(source, await stepDir());
          out.push({ type: "bind", source, target: m.target, readonly: m.readonly });
          break;
        }
        case "cache": {
          const seed =
            m.from !== undefined ? await bindSource(m.from, cleanSource(m.source), rt, location) : undefined;
          await cacheMountTravel(rt.options)?.beforeUse(m.id, signal);
          const lease = await cacheStoreFor(rt.options.cacheMounts?.dir).acquire(
            m.id,
            m.sharing,
            {
              mode: m.mode,
              uid: hostId(idMap, "uid", m.uid),
              gid: hostId(idMap, "gid", m.gid),
              ...(seed ? { seed } : {}),
            },
            signal,
          );
          undo.push(() => lease.release());
          out.push({
            type: "bind",
            source: lease.path,
            target: m.target,
            readonly: m.readonly,
            persist: !m.readonly,
          });
          break;
        }
        case "tmpfs":
          out.push({ type: "tmpfs", target: m.target, ...(m.size !== undefined ? { size: m.size } : {}) });
          break;
        case "secret": {
          const value = await readSecret(rt.options.secrets?.[m.id]);
          if (value === undefined) {
            if (m.required)
              throw new MountSecretNotFoundError(
                `RUN --mount=type=secret: secret "${m.id}" is required but was not given (--secret id=${m.id},src=FILE|env=VAR)`,
                location,
              );
            break;
          }
          if (m.env !== undefined) secretEnv[m.env] = value.toString("utf8");
          if (m.target !== undefined) {
            // In memory when the machine has /dev/shm, so the value never touches a disk here.
            const dir = await mkdtemp(join(await secretParent(await stepDir()), "molt-secret-"));
            undo.push(() => rm(dir, { recursive: true, force: true }));
            await chmod(dir, 0o700);
            const file = join(dir, "value");
            await writeFile(file, value, { mode: 0o600 });
            await chown(file, hostId(idMap, "uid", m.uid), hostId(idMap, "gid", m.gid)).catch(
              (e: NodeJS.ErrnoException) => {
                if (e.code !== "EPERM") throw e;
              },
            );
            await chmod(file, m.mode);
            out.push({ type: "bind", source: file, target: m.target, readonly: true });
          }
          break;
        }
        case "ssh": {
          const target = m.target ?? `/run/buildkit/ssh_agent.${sshIndex}`;
          sshIndex++;
          const paths = rt.options.ssh?.[m.id];
          if (!paths || paths.length === 0) {
            if (m.required)
              throw new MountSshNotFoundError(
                `RUN --mount=type=ssh: no SSH agent or key given for "${m.id}" (--ssh ${m.id}${m.id === "default" ? "" : "=PATH"})`,
                location,
              );
            break;
          }
          let agent: SshAgent;
          try {
            agent = await startSshAgent(await stepDir(), paths, {
              uid: hostId(idMap, "uid", m.uid),
              gid: hostId(idMap, "gid", m.gid),
              mode: m.mode,
            });
          } catch (e) {
            throw new MountSshError(`RUN --mount=type=ssh: ${(e as Error).message}`, location, { cause: e });
          }
          undo.push(() => agent.close());
          out.push({ type: "bind", source: agent.socket, target, readonly: false });
          if (!env.some((e) => e.startsWith("SSH_AUTH_SOCK="))) env.push(`SSH_AUTH_SOCK=${target}`);
          break;
        }
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { mounts: out, secretEnv, env, release };
}

/**
 * The host path a bind (or a cache seed) reads: the context (the context directory itself when
 * that shows what a copy would, see {@link directContextPath}, else copied once per build and
 * source), a stage or an image.
 */
async function bindSource(
  from: string | undefined,
  source: string,
  rt: StageRuntime,
  location: ErrorLocation,
): Promise<string> {
  if (from === undefined) {
    let copies = contextCopies.get(rt.context);
    if (!copies) {
      copies = new Map();
      contextCopies.set(rt.context, copies);
    }
    let p = copies.get(source);
    if (!p) {
      const signal = rt.options.signal;
      p = directContextPath(rt.context, source, signal).then(
        async (direct) =>
          direct ??
          copyFromContext(rt.context, source, await rt.scratchDir("context-bind"), location, signal),
      );
      copies.set(source, p);
      p.catch(() => copies.delete(source));
    }
    return p;
  }
  const src = await rt.fromSource(from, location);
  return pathInRoot(src.root, source, `--mount from=${from}`, location);
}
