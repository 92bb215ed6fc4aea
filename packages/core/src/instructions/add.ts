import { createReadStream } from "node:fs";
import { join } from "node:path";
import { openDirectoryContext } from "@molt/context-source";
import type { Instruction } from "@molt/parser";
import { extract } from "@molt/snapshotter";
import { BuildStepError, SourceNotFoundError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";
import { detectArchive, tarStream } from "./archive.js";
import { type CopyItem, copyItems } from "./copy-core.js";
import { entriesUnder, selectSources } from "./copy-selection.js";

type AddInstruction = Extract<Instruction, { kind: "ADD" }>;

const URL_SOURCE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * ADD: like COPY from the context, except that a local tar archive (plain, gzip, bzip2, xz or
 * zstd, recognised by content) is unpacked into the destination unless `--unpack=false`.
 * Entries are unpacked with the snapshotter's safe extractor, so a hostile archive cannot write
 * outside its directory. Remote sources (URLs, git) are refused with a clear error for now.
 */
export async function applyAdd(instr: AddInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  if (instr.heredocs.length > 0)
    throw new BuildStepError("MOLT_UNSUPPORTED", "ADD with a heredoc is not supported yet", loc);
  if (instr.exclude.length > 0)
    throw new BuildStepError("MOLT_UNSUPPORTED", "ADD --exclude is not supported yet", loc);
  const remote = instr.sources.find((s) => URL_SOURCE.test(s) || s.startsWith("git@"));
  if (remote)
    throw new BuildStepError(
      "MOLT_UNSUPPORTED",
      `ADD from a URL or git repository is not supported yet: ${remote}`,
      loc,
    );
  if (instr.checksum !== undefined) {
    throw new BuildStepError("MOLT_ADD_CHECKSUM_LOCAL", "ADD --checksum only applies to URL sources", loc);
  }
  const { selected, missing } = await selectSources(rt.context, instr.sources);
  if (missing.length > 0) throw new SourceNotFoundError(missing[0]!, loc);
  const signal = rt.options.signal;
  const items: CopyItem[] = [];
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
    await extract([{ open: () => tarStream(onDisk, kind, (p) => createReadStream(p)) }], dir, {
      ...(signal ? { signal } : {}),
      devices: "skip",
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
    sourceCount: instr.sources.length,
    chown: instr.chown,
    chmod: instr.chmod,
    createdBy: instr.original,
    location: loc,
    keyword: "ADD",
  });
}
