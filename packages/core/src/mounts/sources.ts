import { constants, createWriteStream } from "node:fs";
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, symlink, utimes } from "node:fs/promises";
import { join, relative } from "node:path";
import { pipeline } from "node:stream/promises";
import { type ContextSource, DirectoryContext } from "@molt/context-source";
import { cleanRootPath, type FileEntry } from "@molt/oci";
import type { ErrorLocation } from "../errors.js";
import { resolveInRoot } from "../runner/root-path.js";
import { copyTree } from "./copy-tree.js";
import { MountSourceNotFoundError } from "./errors.js";

/** `source=` of a mount as a context path: no leading `/` or `./`, no trailing `/` (`""` is the root). */
export function cleanSource(source: string | undefined): string {
  return cleanRootPath(source ?? "");
}

async function writeEntry(ctx: ContextSource, e: FileEntry, dest: string): Promise<void> {
  switch (e.type) {
    case "directory":
      await mkdir(dest, { recursive: true });
      return; // mode and time set by finishDir once its content is in
    case "file":
      if (e.source) await copyFile(e.source, dest, constants.COPYFILE_FICLONE);
      else await pipeline(ctx.open(e.path), createWriteStream(dest, { mode: 0o600 }));
      break;
    case "symlink":
      await symlink(e.linkTarget ?? "", dest);
      return;
    default:
      return; // devices, fifos: not sent with a context
  }
  await chmod(dest, e.mode);
  const s = Number(e.mtimeNs / 1_000_000_000n);
  await utimes(dest, s, s);
}

/**
 * The context's own host path for `source` when binding it directly shows exactly what a copy
 * would: a local directory context, and under `source` (and on the way to it) nothing
 * `.dockerignore` excludes, only directories, files and symlinks, all owned by this process's
 * uid and gid (a copy gives every file to molt's user: root in the image, as BuildKit resets
 * context owners to 0:0). Else `undefined`: copy it. Costs one walk of `lstat`s, no copying.
 */
export async function directContextPath(
  ctx: ContextSource,
  source: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (!(ctx instanceof DirectoryContext)) return undefined;
  const r = await resolveInRoot(ctx.root, `/${source}`);
  if (r.missing.length > 0) return undefined;
  const top = relative(ctx.root, r.hostPath);
  if (top.startsWith("..")) return undefined;
  const parts = top === "" ? [] : top.split("/");
  for (let i = 1; i <= parts.length; i++) if (ctx.isIgnored(parts.slice(0, i).join("/"))) return undefined;
  const uid = process.geteuid?.() ?? -1;
  const gid = process.getegid?.() ?? -1;
  const fits = async (rel: string): Promise<boolean> => {
    signal?.throwIfAborted();
    const st = await lstat(rel === "" ? ctx.root : join(ctx.root, rel));
    if (st.uid !== uid || st.gid !== gid) return false;
    if (st.isFile() || st.isSymbolicLink()) return true;
    if (!st.isDirectory()) return false;
    for (const n of await readdir(join(ctx.root, rel))) {
      const child = rel === "" ? n : `${rel}/${n}`;
      if (ctx.isIgnored(child) || !(await fits(child))) return false;
    }
    return true;
  };
  return (await fits(top)) ? r.hostPath : undefined;
}

/**
 * Copies what the build context has at `source` (after `.dockerignore`: ignored files are not
 * there, as BuildKit never sends them) into a new directory under `scratch`; returns the host path
 * of the copy (a file or a directory). Files are owned by whoever runs molt (root in the image).
 */
export async function copyFromContext(
  ctx: ContextSource,
  source: string,
  scratch: string,
  location: ErrorLocation,
  signal?: AbortSignal,
): Promise<string> {
  const top = await ctx.stat(source);
  if (!top)
    throw new MountSourceNotFoundError(
      `RUN --mount: "${source || "/"}" not found in the build context`,
      location,
    );
  const dir = await mkdtemp(join(scratch, "bind-"));
  const dest = join(dir, "src");
  if (top.type !== "directory") {
    await writeEntry(ctx, { ...top, path: source }, dest);
    return dest;
  }
  await mkdir(dest);
  const prefix = source === "" ? "" : `${source}/`;
  const dirs: [string, FileEntry][] = [[dest, top]];
  for await (const e of ctx.walk(source, signal ? { signal } : {})) {
    if (!e.path.startsWith(prefix)) continue;
    const p = join(dest, e.path.slice(prefix.length));
    await writeEntry(ctx, e, p);
    if (e.type === "directory") dirs.push([p, e]);
  }
  for (const [p, e] of dirs.reverse()) {
    await chmod(p, e.mode);
    const s = Number(e.mtimeNs / 1_000_000_000n);
    await utimes(p, s, s);
  }
  return dest;
}

/**
 * The host path of `source` inside a root directory (an earlier stage's or an image's),
 * resolved without leaving the root; a located error when it does not exist.
 */
export async function pathInRoot(
  root: string,
  source: string,
  from: string,
  location: ErrorLocation,
): Promise<string> {
  const r = await resolveInRoot(root, `/${source}`);
  if (r.missing.length > 0 || !(await lstat(r.hostPath).catch(() => undefined))) {
    throw new MountSourceNotFoundError(`RUN --mount: "${source || "/"}" not found in ${from}`, location);
  }
  return r.hostPath;
}

/** A copy of `from` (as `cp -a`, see {@link copyTree}) in a new directory under `scratch` (a writable copy for `rw`). */
export async function writableCopy(from: string, scratch: string): Promise<string> {
  const dir = await mkdtemp(join(scratch, "rw-"));
  const dest = join(dir, "src");
  await copyTree(from, dest);
  return dest;
}
