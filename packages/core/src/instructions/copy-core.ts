import type { Change, FileEntry } from "@molt/oci";
import { contextReadsOf } from "../cache/context-reads.js";
import { digestMemoOf } from "../cache/digest-memo.js";
import { CopyDestNotDirError, type ErrorLocation, throwIfAborted } from "../errors.js";
import { resolveContainerPath, toLayerPath } from "../stage/paths.js";
import { existsIn, followIn, isDirectoryIn, parentsIn, type RootView } from "../stage/root-view.js";
import type { StageRuntime } from "../stage/runtime.js";
import { chmodApplier, resolveChown } from "./chown-chmod.js";
import { addCapabilities } from "./copy-capabilities.js";
import { CopyTargetCheck } from "./copy-clash.js";
import { keepHardLinks } from "./copy-links.js";
import { ancestors, baseName, posixJoin, reRoot } from "./copy-paths.js";
import type { ListedContents } from "./copy-selection.js";

/**
 * One thing COPY/ADD puts into the image: a file-like entry (its `path` only names it, for the
 * base name), or a directory whose contents are copied (`contents` yields entries with paths
 * relative to the directory).
 */
export type CopyItem = (
  | {
      kind: "entry";
      entry: FileEntry;
      keepOwner?: boolean;
      /** `COPY --parents`: the entry keeps its whole path (relative to its source) under the destination. */
      keepPath?: boolean;
    }
  | {
      kind: "contents";
      contents: () => AsyncIterable<FileEntry>;
      /** Keep the entries' own owners unless --chown is given (ADD of an archive, like `tar -x`). */
      keepOwner?: boolean;
      /** `COPY --parents`: a path the contents go under, inside the destination. */
      prefix?: string;
      /** The same contents as one walk's array, when the source has it at hand: taken instead of `contents`. */
      listed?: (() => Promise<ListedContents>) | undefined;
    }
) & {
  /**
   * Items sharing this object keep hard links among them: files with the same
   * {@link FileEntry.inode} become one file and hard links to it, as one BuildKit copy action
   * keeps them (a written source and its wildcard matches). Default: the item alone.
   */
  linkScope?: object;
};

/** What the instruction said, after expansion. */
export interface CopyRequest {
  /** The destination as written (a trailing `/` makes it a directory). */
  dest: string;
  /** How many sources were written (several make the destination a directory). */
  sourceCount: number;
  chown?: string | undefined;
  chmod?: string | undefined;
  /** History `created_by`. */
  createdBy: string;
  location: ErrorLocation;
  /** The instruction name for messages (`COPY`, `ADD`). */
  keyword: string;
  /** The files come from the build context (reported as a `molt:context:transfer` event). */
  fromContext?: boolean;
  /**
   * The stage's root view, when the caller started reading it ahead ({@link StageRuntime.rootView}
   * begun while a `--from` source was being prepared); otherwise it is asked for here.
   */
  view?: Promise<RootView | undefined>;
}

/**
 * The part COPY and ADD share: maps items to destination paths with docker's rules (a directory
 * copies its contents; several sources or a trailing slash make the destination a directory),
 * applies --chown/--chmod, and writes one layer. With a base image the stage's root is used, so
 * parent directories keep the mode and owner the image gives them (e.g. /tmp 1777) and --chown
 * names resolve against the image's /etc/passwd.
 */
export async function copyItems(rt: StageRuntime, items: CopyItem[], req: CopyRequest): Promise<void> {
  const loc = req.location;
  // What the base holds is read through a view: the layers' index unless the root is (or is
  // about to be) extracted, so COPY onto a base image needs no extraction.
  const view = await (req.view ?? rt.rootView());
  const owner = (await resolveChown(req.chown, view, loc)) ?? { uid: 0, gid: 0 };
  const chmod = chmodApplier(req.chmod, loc);
  const cfg = rt.state.config.config ?? {};
  const written = toLayerPath(resolveContainerPath(cfg.WorkingDir, req.dest));
  const endsWithSlash = req.dest.endsWith("/") || req.dest === "." || req.dest.endsWith("/.");
  const destIsExistingDir = written !== "" && view !== undefined && (await isDirectoryIn(view, written));
  const multiple =
    endsWithSlash ||
    destIsExistingDir ||
    req.sourceCount > 1 ||
    items.length > 1 ||
    items.some((i) => i.kind === "contents" || i.keepPath === true);
  // The destination directory is resolved inside the root with symlinks followed, dangling ones
  // too (BuildKit's copy resolves the destination with RootPath): after `ln -s target /link`,
  // `COPY a /link/sub/` writes /target/sub/a and leaves the link alone.
  const dest = view ? await followIn(view, written) : written;
  if ((req.sourceCount > 1 || items.length > 1) && !endsWithSlash) {
    throw new CopyDestNotDirError(
      `${req.keyword} with more than one source needs a destination ending in "/" (got "${req.dest}")`,
      loc,
    );
  }
  // Every source a wildcard that matched nothing: nothing is copied and no destination is made
  // (BuildKit's file backend docopy returns before its copy creates the destination path).
  if (items.length === 0) {
    rt.addEmptyHistory(req.createdBy);
    return;
  }

  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const entries = new Map<string, FileEntry>();
  const newDir = (path: string, uid = 0, gid = 0): FileEntry => ({
    path,
    type: "directory",
    mode: 0o755,
    uid,
    gid,
    size: 0,
    mtimeNs: nowNs,
  });
  // The link scope of each entry that may be a hard link (a file with a shared inode).
  const scopes = new Map<string, object>();
  /**
   * Puts `e` at `path` with the copy's owner and mode (and `linkTarget`, a hard link's relinked
   * target): one new object per entry, the source's own left as it is.
   */
  const put = (
    e: FileEntry,
    path: string,
    keepOwner: boolean | undefined,
    scope: object,
    linkTarget?: string,
  ) => {
    const keep = keepOwner && !req.chown;
    const mode = chmod && e.type !== "symlink" ? chmod(e.mode, e.type === "directory") : e.mode;
    const out: FileEntry = { ...e, path, uid: keep ? e.uid : owner.uid, gid: keep ? e.gid : owner.gid, mode };
    if (linkTarget !== undefined) out.linkTarget = linkTarget;
    entries.set(path, out);
    if (e.type === "file" && e.inode !== undefined) scopes.set(path, scope);
    else if (scopes.size > 0) scopes.delete(path);
  };

  const destDir = multiple ? dest : parentOf(dest);
  // What the image has where the copy writes: a directory may not land on a file or symlink,
  // nor a file on a directory (BuildKit's copy refuses both, see CopyTargetCheck).
  const check = view ? new CopyTargetCheck(view, entries, req.keyword, loc) : undefined;
  // Missing parents are made 0755, owned by the --chown owner (root without one), as BuildKit's
  // copy makes them; existing ones (seen through the stage's root, symlinks followed as the
  // container would) keep what the image gives them; a file there fails the copy (MkdirAll).
  const ensureDir = async (a: string) => {
    if (a === "" || entries.has(a)) return;
    if (view && check) {
      if (await isDirectoryIn(view, a)) return;
      if (await existsIn(view, a)) check.notDirectory(a);
      check.markAbsent(a);
    }
    entries.set(a, newDir(a, owner.uid, owner.gid));
  };
  for (const a of [...ancestors(destDir), destDir]) await ensureDir(a);
  if (multiple) await ensureDir(dest);

  for (const item of items) {
    const inner =
      item.kind === "contents" ? (item.prefix ?? "") : item.keepPath ? parentOf(item.entry.path) : "";
    for (const a of inner === "" ? [] : [...ancestors(inner), inner]) {
      const p = posixJoin(dest, a);
      if (!entries.has(p)) entries.set(p, newDir(p, owner.uid, owner.gid));
    }
  }
  for (const item of items) {
    throwIfAborted(rt.options.signal);
    const scope = item.linkScope ?? item;
    if (item.kind === "contents") {
      const under = posixJoin(dest, item.prefix ?? "");
      if (item.listed) {
        const listed = await item.listed();
        // Into a directory the image lacks and nothing of this copy is in yet (COPY dir/ /new/),
        // no entry can be refused: only its directories are recorded (see isFreshTree).
        const fresh = check === undefined || check.isFreshTree(under);
        const { dir, entries: all, strip } = listed;
        const place = reRoot(strip, under);
        for (let i = 0; i < all.length; i++) {
          if ((i & 1023) === 1023) throwIfAborted(rt.options.signal);
          const e = all[i] as FileEntry;
          if (e.path === dir) continue;
          const path = place(e.path);
          if (!fresh) {
            const checked = check?.check(path, e.type);
            if (checked) await checked;
          } else if (e.type === "directory") check?.markAbsent(path);
          put(e, path, item.keepOwner, scope, relinked(e, under));
        }
        continue;
      }
      for await (const e of item.contents()) {
        const path = posixJoin(under, e.path);
        const checked = check?.check(path, e.type);
        if (checked) await checked;
        put(e, path, item.keepOwner, scope, relinked(e, under));
      }
    } else {
      const target = item.keepPath
        ? posixJoin(dest, item.entry.path)
        : multiple
          ? posixJoin(dest, baseName(item.entry.path))
          : dest;
      if (target === "") throw new CopyDestNotDirError(`cannot ${req.keyword} a file onto "/"`, loc);
      await check?.check(target, item.entry.type);
      put(item.entry, target, item.keepOwner, scope);
    }
  }
  keepHardLinks(entries, scopes);
  // A file's capabilities go with it (the one xattr BuildKit's layers carry); the keys read those
  // of the context's files already.
  await addCapabilities(entries, contextReadsOf(rt.context)?.caps);
  // One pass (forEach: no iterator result per entry) makes the changes and counts the files.
  const changes: Change[] = [];
  let files = 0;
  let bytes = 0;
  entries.forEach((entry) => {
    changes.push({ kind: "add", entry });
    if (entry.type !== "file") return;
    files++;
    bytes += entry.size;
  });
  if (req.fromContext && rt.events.listening) {
    rt.events.emit({ type: "molt:context:transfer", step: rt.stepId, files, bytes });
  }
  // With --cache-dir, small context files whose digests the memo vouched for in this build's keys
  // are written from the bytes it kept (no open/read/close each).
  const memo = req.fromContext ? digestMemoOf(rt.context) : undefined;
  await rt.addLayer(changes, req.createdBy, {
    ...(view ? { parents: parentsIn(view) } : {}),
    ...(memo ? { knownBytes: (source: string) => memo.bytesOf(source) } : {}),
  });
}

/** A hardlink inside copied contents points at the copied target: that target, else undefined. */
function relinked(e: FileEntry, dest: string): string | undefined {
  return e.type === "hardlink" && e.linkTarget !== undefined ? posixJoin(dest, e.linkTarget) : undefined;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}
