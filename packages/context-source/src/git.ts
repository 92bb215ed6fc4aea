import { spawn } from "node:child_process";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeOwnedTempDir, removeOwnedTempDir } from "@molt/oci";
import createDebug from "debug";
import { openDirectoryContext } from "./directory.js";
import { ContextFetchError, ContextNotFoundError } from "./errors.js";
import { cleanContextPath } from "./paths.js";
import { removeTree } from "./remove-tree.js";
import type { ContextSource, OpenContextOptions } from "./source.js";

const debug = createDebug("molt:context");

/** A git context URL split the way docker reads it: `<remote>#<ref>:<subdir>`. */
export interface GitUrl {
  /** The URL handed to `git fetch` (without the fragment). */
  remote: string;
  /** Branch, tag or commit; `undefined` means the remote's default branch (HEAD). */
  ref: string | undefined;
  /** Directory inside the repository used as the context root (`""` for the top). */
  subdir: string;
}

/**
 * Parses docker's git URL syntax: `git://host/repo#ref:subdir`, `https://host/repo.git#ref`,
 * `git@host:org/repo.git#:subdir`. Both parts of the fragment are optional.
 */
export function parseGitUrl(spec: string): GitUrl {
  const hash = spec.indexOf("#");
  const remote = hash < 0 ? spec : spec.slice(0, hash);
  const fragment = hash < 0 ? "" : spec.slice(hash + 1);
  const colon = fragment.indexOf(":");
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? "" : fragment.slice(colon + 1);
  return { remote, ref: ref === "" ? undefined : ref, subdir: cleanContextPath(subdir) };
}

function git(
  args: string[],
  cwd: string,
  signal?: AbortSignal,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: "0",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_ASKPASS: "",
        SSH_ASKPASS: "",
        LC_ALL: "C",
        // never wait for a password or host-key prompt
        GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? "ssh -o BatchMode=yes",
        ...extraEnv,
      },
      ...(signal ? { signal } : {}),
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", (e) => reject(e));
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else
        reject(Object.assign(new Error(err.trim() || `git ${args[0]} exited ${code}`), { exitCode: code }));
    });
  });
}

/**
 * Opens a git repository as a context with the system `git`: a shallow fetch (`--depth 1`) of
 * just the ref (branch, tag, or commit; the remote's HEAD when none), checked out into a
 * private temp dir without `.git` (as BuildKit does), submodules fetched shallowly and
 * recursively when `submodules` is set, and `#ref:subdir` (then `subPath`) as the root.
 * `ca` adds CAs git trusts for https remotes (a bundle of the system's plus these, as `GIT_SSL_CAINFO`).
 *
 * @example
 * ```ts
 * const ctx = await openContext("https://github.com/org/app.git#v1.2.0:docker", { submodules: true });
 * ```
 */
export async function openGitContext(spec: string, options: OpenContextOptions = {}): Promise<ContextSource> {
  const parsed = parseGitUrl(spec);
  const { remote, subdir } = parsed;
  const gitOpts = options.git ?? {};
  const ref = parsed.ref ?? gitOpts.branch;
  const depth = gitOpts.depth ?? 1;
  const depthArgs = depth === 0 ? [] : [`--depth=${depth}`];
  const submodules = options.submodules || gitOpts.recurseSubmodules;
  const signal = options.signal;
  const tmp = makeOwnedTempDir(options.tmpDir ?? tmpdir(), "molt-context-git-");
  const cleanup = () => removeOwnedTempDir(tmp, removeTree);
  const gitDir = join(tmp, "git");
  const work = join(tmp, "ctx");
  // Extra trusted CAs for https remotes: git reads a bundle file (GIT_SSL_CAINFO beats config).
  const caEnv: NodeJS.ProcessEnv = gitOpts.insecureSkipTls ? { GIT_SSL_NO_VERIFY: "true" } : {};
  const g = (args: string[], cwd = work) =>
    git([`--git-dir=${gitDir}`, `--work-tree=${work}`, ...args], cwd, signal, caEnv);
  try {
    await mkdir(work);
    if (options.ca !== undefined) {
      const pems = (Array.isArray(options.ca) ? options.ca : [options.ca]) as (string | Buffer)[];
      const system = process.env.GIT_SSL_CAINFO ?? "/etc/ssl/certs/ca-certificates.crt";
      const base = await readFile(system, "utf8").catch(() => "");
      const caFile = join(tmp, "ca.pem");
      await writeFile(caFile, [base, ...pems.map((p) => p.toString())].join("\n"));
      caEnv.GIT_SSL_CAINFO = caFile;
    }
    options.onProgress?.({
      type: "molt:context:clone",
      url: remote,
      ...(ref ? { ref } : {}),
      phase: "start",
    });
    await git(["init", "-q", "--bare", gitDir], tmp, signal);
    await g(["config", "core.bare", "false"]);
    await g(["remote", "add", "origin", remote]);
    const want = ref ?? "HEAD";
    const keepGitDir = gitOpts.keepGitDir === true && subdir === "";
    // With .git kept, a branch or tag is also fetched into its local ref (as BuildKit's `ref:ref`).
    const named = keepGitDir && ref !== undefined && !/^[0-9a-f]{7,64}$/i.test(ref);
    try {
      await g([
        "fetch",
        "-q",
        ...(named ? ["-u"] : []),
        ...depthArgs,
        "--no-tags",
        "origin",
        named ? `${want}:${want}` : want,
      ]);
    } catch (e) {
      if (signal?.aborted) throw e;
      // A commit the server will not serve by id: fall back to a full fetch, then find it.
      if (!/^[0-9a-f]{7,64}$/i.test(want)) throw e;
      debug("shallow fetch of %s failed (%s), fetching everything", want, (e as Error).message);
      await g([
        "fetch",
        "-q",
        "--no-tags",
        "origin",
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
      ]);
    }
    const commit = ref && /^[0-9a-f]{7,64}$/i.test(ref) ? ref : "FETCH_HEAD";
    await g(["-c", "advice.detachedHead=false", "checkout", "-q", "--force", commit]);
    if (submodules) {
      await g(["submodule", "update", "-q", "--init", "--recursive", ...depthArgs]);
    }
    if (submodules && !keepGitDir) await removeGitFiles(work);
    if (keepGitDir) {
      await g(["remote", "set-url", "origin", redactPassword(remote)]);
      await g(["reflog", "expire", "--all", "--expire=now"]);
      await rename(gitDir, join(work, ".git"));
    }
    options.onProgress?.({ type: "molt:context:clone", url: remote, ...(ref ? { ref } : {}), phase: "done" });
  } catch (e) {
    await cleanup();
    if (signal?.aborted) throw signal.reason;
    const message = (e as Error).message;
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ContextFetchError(remote, "git is not installed (it is needed for git contexts)", {
        cause: e,
      });
    }
    throw new ContextFetchError(remote, `git could not fetch ${ref ?? "HEAD"}: ${message}`, { cause: e });
  }
  const subPath = [subdir, options.subPath ? cleanContextPath(options.subPath) : ""]
    .filter(Boolean)
    .join("/");
  try {
    return await openDirectoryContext(work, {
      ...options,
      subPath,
      description: `git ${spec}`,
      onClose: cleanup,
    });
  } catch (e) {
    await cleanup();
    if (e instanceof ContextNotFoundError && subdir) {
      throw new ContextNotFoundError(`${remote}#${ref ?? ""}:${subdir}`, "directory in the git repository", {
        cause: e,
      });
    }
    throw e;
  }
}

/** A remote URL with its password (if any) replaced by `xxxxx`, as BuildKit's RedactCredentials. */
function redactPassword(remote: string): string {
  try {
    const u = new URL(remote);
    if (!u.password) return remote;
    u.password = "xxxxx";
    return u.toString();
  } catch {
    return remote; // scp-like git@host:path has no password
  }
}

/** Removes the `.git` files submodules leave in the work tree (their data lives in the git dir). */
async function removeGitFiles(dir: string): Promise<void> {
  const { readdir } = await import("node:fs/promises");
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.name === ".git") await rm(p, { recursive: true, force: true });
    else if (e.isDirectory()) await removeGitFiles(p);
  }
}
