import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { downloadToFile, IgnoreMatcher, openDirectoryContext, openGitContext } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { extract } from "@molt/snapshotter";
import { sourceInputs } from "../cache/content-digest.js";
import type { KeyInput } from "../cache/key.js";
import {
  AddChecksumError,
  AddChecksumLocalError,
  AddDownloadError,
  AddGitFailedError,
  type ErrorLocation,
  SourceNotFoundError,
  UnsupportedUrlSchemeError,
} from "../errors.js";
import { extractLimits } from "../stage/extract-limits.js";
import type { StageRuntime } from "../stage/runtime.js";
import { detectArchive, tarStream } from "./archive.js";
import { parseChmod } from "./chown-chmod.js";
import { withoutExcluded } from "./copy.js";
import { type CopyItem, copyItems } from "./copy-core.js";
import { entriesUnder, listedUnder, selectSources } from "./copy-selection.js";
import { heredocItems } from "./heredoc-files.js";
import type { InstructionStep, PlanView } from "./step.js";

type AddInstruction = Extract<Instruction, { kind: "ADD" }>;

const URL_SOURCE = /^[a-z][a-z0-9+.-]*:\/\//i;

const isGit = (s: string) => s.startsWith("git@") || /^git:\/\//.test(s) || /\.git(#|$)/.test(s);

/**
 * ADD's key inputs: local sources by content digest (as COPY), each URL by its `--checksum` or
 * else by the digest of its bytes (downloaded once here; apply reuses the file).
 */
export async function addInputs(instr: AddInstruction, view: PlanView): Promise<KeyInput[]> {
  if (instr.sources.some(isGit)) {
    // A git source has no content digest without cloning: never taken from the cache.
    return [
      { name: "uncacheable", digest: `sha256:${randomBytes(32).toString("hex")}`, display: "git source" },
    ];
  }
  const inputs: KeyInput[] = [];
  for (const url of instr.sources.filter((s) => URL_SOURCE.test(s))) {
    const digest = instr.checksum ?? (await view.urlDigest(url, instr.location));
    inputs.push({ name: `url:${url}`, digest });
  }
  const local = instr.sources.filter((s) => !URL_SOURCE.test(s));
  const { selected, missing } = await selectSources(view.context, local);
  if (missing.length > 0) throw new SourceNotFoundError(missing[0]!, instr.location);
  const signal = view.options.signal;
  const excluded = instr.exclude.length > 0 ? new IgnoreMatcher(instr.exclude) : undefined;
  inputs.push(
    ...(await sourceInputs(
      view.context,
      selected.map((s) => s.entry).filter((e) => !excluded?.matches(e.path)),
      {
        chmod: parseChmod(instr.chmod, instr.location),
        normalizeModes: view.options.cache?.normalizeModes ?? false,
        ...(excluded ? { exclude: (rel: string) => excluded.matches(rel) } : {}),
        ...(signal ? { signal } : {}),
      },
    )),
  );
  return inputs;
}

/** ADD as a step: changes files, cached by content and URL digest. */
export const addStep: InstructionStep<AddInstruction> = {
  changesFiles: true,
  cache: "copy",
  inputs: addInputs,
  apply: (instr, rt) => applyAdd(instr, rt),
};

/**
 * ADD: like COPY from the context, except that a local tar archive (plain, gzip, bzip2, xz or
 * zstd, recognised by content) is unpacked into the destination unless `--unpack=false`, and
 * `http(s)://` sources are downloaded (see {@link download}). Entries are unpacked with the
 * snapshotter's safe extractor, so a hostile archive cannot write outside its directory. A git
 * URL adds the repository's tree (see {@link addGit}).
 */
export async function applyAdd(instr: AddInstruction, rt: StageRuntime): Promise<void> {
  // --exclude leaves out local sources and entries of copied directories as COPY's does (not
  // entries inside an archive ADD unpacks: BuildKit unpacks before its copy filters).
  const excluded = instr.exclude.length > 0 ? new IgnoreMatcher(instr.exclude) : undefined;
  const gits = instr.sources.filter(isGit);
  const repos: Awaited<ReturnType<typeof openGitContext>>[] = [];
  try {
    const items: CopyItem[] = [];
    for (const spec of gits) {
      const { repo, item } = await gitItem(spec, instr, rt);
      repos.push(repo);
      items.push(item);
    }
    await addSources(instr, rt, items, excluded);
  } finally {
    for (const repo of repos) await repo.close();
  }
}

/**
 * ADD's sources in the order written (git items given in their order among them), then the
 * heredocs: each is one copy action of BuildKit's, applied one after another, so a later source
 * overrides an earlier one of the same name (dockerfile2llb copies `SourcePaths` in order, then
 * `SourceContents`).
 */
async function addSources(
  instr: AddInstruction,
  rt: StageRuntime,
  gitItems: CopyItem[],
  excluded: IgnoreMatcher | undefined,
): Promise<void> {
  const loc = instr.location;
  const sources = instr.sources.filter((s) => !isGit(s));
  const urls = sources.filter((s) => URL_SOURCE.test(s));
  if (instr.checksum !== undefined && (urls.length !== sources.length || gitItems.length > 0)) {
    throw new AddChecksumLocalError("ADD --checksum only applies to URL sources", loc);
  }
  const local = sources.filter((s) => !URL_SOURCE.test(s));
  const { missing } = await selectSources(rt.context, local);
  if (missing.length > 0) throw new SourceNotFoundError(missing[0]!, loc);
  const items: CopyItem[] = [];
  let nextGit = 0;
  for (const source of instr.sources) {
    if (isGit(source)) {
      items.push(gitItems[nextGit++]!);
      continue;
    }
    if (URL_SOURCE.test(source)) {
      const { digest: _digest, ...entry } = await downloadOnce(source, instr.checksum, rt, loc);
      items.push({ kind: "entry", entry });
      continue;
    }
    const { selected } = await selectSources(rt.context, [source]);
    items.push(...(await localItems(selected, instr, rt, excluded)));
  }
  items.push(...(await heredocItems(instr.heredocs, rt)));
  // A git source alone adds the repository's tree into the destination as a directory.
  const gitOnly = gitItems.length === 1 && instr.sources.length === 1 && instr.heredocs.length === 0;
  await copyItems(rt, items, {
    dest: gitOnly && !instr.dest.endsWith("/") ? `${instr.dest}/` : instr.dest,
    sourceCount: instr.sources.length + instr.heredocs.length,
    chown: instr.chown,
    chmod: instr.chmod,
    createdBy: instr.original,
    location: loc,
    keyword: "ADD",
    fromContext: urls.length === 0 && gitItems.length === 0,
  });
}

/**
 * One `ADD <git URL>[#ref[:subdir]]` source: the repository's tree at `ref` (the remote's HEAD
 * when none), `subdir` only when given, fetched with the system `git` (shallow), copied as a
 * directory's contents, root-owned, without reading the repository's `.dockerignore` (as
 * BuildKit's git source), and without `.git` unless `--keep-git-dir=true` (then kept, as
 * BuildKit's KeepGitDir; not with a subdir). Several sources may mix repositories with others:
 * dockerfile2llb copies each source in turn into the destination. The caller closes `repo`.
 */
async function gitItem(
  spec: string,
  instr: AddInstruction,
  rt: StageRuntime,
): Promise<{ repo: Awaited<ReturnType<typeof openGitContext>>; item: CopyItem }> {
  const loc = instr.location;
  const signal = rt.options.signal;
  let repo: Awaited<ReturnType<typeof openGitContext>>;
  try {
    repo = await openGitContext(spec, {
      tmpDir: await rt.scratchDir("git"),
      ignorePatterns: [],
      ...(instr.keepGitDir ? { git: { keepGitDir: true } } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    throw new AddGitFailedError(`ADD ${spec}: ${(e as Error).message}`, loc, {
      cause: e,
    });
  }
  const top = await repo.stat("");
  if (!top) {
    await repo.close();
    throw new SourceNotFoundError(spec, loc);
  }
  return { repo, item: { kind: "contents", contents: () => entriesUnder(repo, top, "", signal) } };
}

/**
 * {@link download}, once per URL and stage runtime: the plan face (for the key) and apply share
 * the file. The `--checksum` check happens on every call.
 */
export async function downloadOnce(
  url: string,
  checksum: string | undefined,
  rt: StageRuntime,
  loc: ErrorLocation,
): Promise<FileEntry & { digest: string }> {
  let p = rt.downloads.get(url);
  if (!p) {
    p = download(url, rt, loc);
    rt.downloads.set(url, p);
  }
  const got = await p;
  if (checksum !== undefined && checksum !== got.digest) {
    throw new AddChecksumError(
      `ADD ${url}: checksum ${got.digest} does not match --checksum=${checksum}`,
      loc,
    );
  }
  return got;
}

/**
 * Downloads an ADD URL (TLS verified, redirects followed, never https → http) into the build's
 * temporary directory. As docker does, the file is named after the URL's last path segment, gets
 * mode 0600, and is not unpacked.
 */
async function download(
  url: string,
  rt: StageRuntime,
  loc: ErrorLocation,
): Promise<FileEntry & { digest: string }> {
  if (!/^https?:\/\//i.test(url))
    throw new UnsupportedUrlSchemeError(`ADD: unsupported URL scheme in ${url}`, loc);
  const name =
    decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).at(-1) ?? "") || "index.html";
  const file = join(await rt.scratchDir("add-url"), "download");
  const signal = rt.options.signal;
  let got: { bytes: number; digest: string };
  try {
    got = await downloadToFile(url, file, signal ? { signal } : {});
  } catch (e) {
    throw new AddDownloadError(`ADD ${url}: ${(e as Error).message}`, loc, { cause: e });
  }
  const st = await stat(file, { bigint: true });
  return {
    path: name,
    type: "file",
    mode: 0o600,
    uid: 0,
    gid: 0,
    size: got.bytes,
    mtimeNs: st.mtimeNs,
    source: file,
    digest: got.digest,
  };
}

/** The items of one local ADD source's matches: directories, plain files, unpacked archives. */
async function localItems(
  selected: Awaited<ReturnType<typeof selectSources>>["selected"],
  instr: AddInstruction,
  rt: StageRuntime,
  excluded: IgnoreMatcher | undefined,
): Promise<CopyItem[]> {
  const signal = rt.options.signal;
  const items: CopyItem[] = [];
  for (const { entry } of selected) {
    if (excluded?.matches(entry.path)) continue;
    if (entry.type === "directory") {
      const all = () => entriesUnder(rt.context, entry, "", signal);
      items.push({
        kind: "contents",
        contents: excluded ? () => withoutExcluded(all(), excluded) : all,
        ...(excluded ? {} : { listed: listedUnder(rt.context, entry, signal) }),
      });
      continue;
    }
    const onDisk = entry.type === "file" ? join(rt.context.root, entry.path) : undefined;
    const kind = onDisk && instr.unpack !== false ? await detectArchive(onDisk) : undefined;
    if (!onDisk || !kind) {
      items.push({ kind: "entry", entry });
      continue;
    }
    const dir = await rt.scratchDir("add");
    const limits = extractLimits(rt.options);
    await extract([{ open: () => tarStream(onDisk, kind, (p) => createReadStream(p)) }], dir, {
      ...(signal ? { signal } : {}),
      devices: "skip",
      ...(limits ? { limits } : {}),
    });
    const unpacked = await openDirectoryContext(dir, { ignorePatterns: [] });
    items.push({
      kind: "contents",
      contents: () => unpacked.walk("", signal ? { signal } : {}),
      keepOwner: true,
    });
  }
  return items;
}
