import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { downloadToFile, openDirectoryContext } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { extract } from "@molt/snapshotter";
import { BuildStepError, type ErrorLocation, SourceNotFoundError } from "../errors.js";
import { extractLimits } from "../stage/extract-limits.js";
import type { StageRuntime } from "../stage/runtime.js";
import { detectArchive, tarStream } from "./archive.js";
import { type CopyItem, copyItems } from "./copy-core.js";
import { entriesUnder, selectSources } from "./copy-selection.js";
import { heredocItems } from "./heredoc-files.js";

type AddInstruction = Extract<Instruction, { kind: "ADD" }>;

const URL_SOURCE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * ADD: like COPY from the context, except that a local tar archive (plain, gzip, bzip2, xz or
 * zstd, recognised by content) is unpacked into the destination unless `--unpack=false`, and
 * `http(s)://` sources are downloaded (see {@link download}). Entries are unpacked with the
 * snapshotter's safe extractor, so a hostile archive cannot write outside its directory. git
 * sources are refused with a clear error for now.
 */
export async function applyAdd(instr: AddInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  if (instr.exclude.length > 0)
    throw new BuildStepError("MOLT_UNSUPPORTED", "ADD --exclude is not supported yet", loc);
  const git = instr.sources.find((s) => s.startsWith("git@") || /^git:\/\//.test(s) || /\.git(#|$)/.test(s));
  if (git)
    throw new BuildStepError(
      "MOLT_UNSUPPORTED",
      `ADD from a git repository is not supported yet: ${git}`,
      loc,
    );
  const urls = instr.sources.filter((s) => URL_SOURCE.test(s));
  if (instr.checksum !== undefined && urls.length !== instr.sources.length) {
    throw new BuildStepError("MOLT_ADD_CHECKSUM_LOCAL", "ADD --checksum only applies to URL sources", loc);
  }
  const signal = rt.options.signal;
  const items: CopyItem[] = await heredocItems(instr.heredocs, rt);
  for (const url of urls) items.push({ kind: "entry", entry: await download(url, instr.checksum, rt, loc) });
  const local = instr.sources.filter((s) => !URL_SOURCE.test(s));
  const { selected, missing } = await selectSources(rt.context, local);
  if (missing.length > 0) throw new SourceNotFoundError(missing[0]!, loc);
  for (const { entry } of selected) {
    if (entry.type === "directory") {
      items.push({ kind: "contents", contents: () => entriesUnder(rt.context, entry, "", signal) });
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
  await copyItems(rt, items, {
    dest: instr.dest,
    sourceCount: instr.sources.length + instr.heredocs.length,
    chown: instr.chown,
    chmod: instr.chmod,
    createdBy: instr.original,
    location: loc,
    keyword: "ADD",
  });
}

/**
 * Downloads an ADD URL (TLS verified, redirects followed, never https → http) into the build's
 * temporary directory. As docker does, the file is named after the URL's last path segment, gets
 * mode 0600, and is not unpacked. `--checksum` (`sha256:…`) is verified.
 */
async function download(
  url: string,
  checksum: string | undefined,
  rt: StageRuntime,
  loc: ErrorLocation,
): Promise<FileEntry> {
  if (!/^https?:\/\//i.test(url))
    throw new BuildStepError("MOLT_UNSUPPORTED", `ADD: unsupported URL scheme in ${url}`, loc);
  const name =
    decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).at(-1) ?? "") || "index.html";
  const file = join(await rt.scratchDir("add-url"), "download");
  const signal = rt.options.signal;
  let got: { bytes: number; digest: string };
  try {
    got = await downloadToFile(url, file, signal ? { signal } : {});
  } catch (e) {
    throw new BuildStepError("MOLT_ADD_DOWNLOAD", `ADD ${url}: ${(e as Error).message}`, loc, { cause: e });
  }
  if (checksum !== undefined && checksum !== got.digest) {
    throw new BuildStepError(
      "MOLT_ADD_CHECKSUM",
      `ADD ${url}: checksum ${got.digest} does not match --checksum=${checksum}`,
      loc,
    );
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
  };
}
