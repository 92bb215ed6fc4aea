import { stat } from "node:fs/promises";
import type { Change, FileEntry } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { resolveInRoot } from "@molt/snapshotter";
import { BuildStepError, SourceNotFoundError, throwIfAborted } from "../errors.js";
import { parentsFromRoot } from "../stage/parent-dirs.js";
import { resolveContainerPath, toLayerPath } from "../stage/paths.js";
import type { StageRuntime } from "../stage/runtime.js";
import { parseChmod, resolveChown } from "./chown-chmod.js";
import { ancestors, baseName, posixJoin } from "./copy-paths.js";
import { entriesUnder, selectSources } from "./copy-selection.js";

type CopyInstruction = Extract<Instruction, { kind: "COPY" }>;

/**
 * COPY from the build context: selects the sources (plain paths and wildcards), maps them to
 * destination paths with docker's rules (a directory source copies its contents; several
 * sources or a trailing slash make the destination a directory), and writes one layer.
 */
export async function applyCopy(instr: CopyInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  if (instr.from !== undefined && instr.from !== "") {
    throw new BuildStepError("MOLT_UNSUPPORTED", "COPY --from is not supported yet", loc);
  }
  if (instr.heredocs && instr.heredocs.length > 0) {
    throw new BuildStepError("MOLT_UNSUPPORTED", "COPY with a heredoc is not supported yet", loc);
  }
  // With a base image, COPY sees the stage's root: parent directories keep the mode and owner
  // the image gives them (e.g. /tmp 1777), and --chown names resolve against its /etc/passwd.
  const fs = rt.state.layers.length > 0 ? await rt.filesystem() : undefined;
  const owner = (await resolveChown(instr.chown, fs?.root, loc)) ?? { uid: 0, gid: 0 };
  const chmod = parseChmod(instr.chmod, loc);
  const cfg = rt.state.config.config ?? {};
  const destIsDir = instr.dest.endsWith("/") || instr.dest === "." || instr.sources.length > 1;
  const dest = toLayerPath(resolveContainerPath(cfg.WorkingDir, instr.dest));

  const { selected, missing } = await selectSources(rt.context, instr.sources);
  if (missing.length > 0) throw new SourceNotFoundError(missing[0]!, loc);
  const multiple = destIsDir || selected.length > 1 || selected.some((s) => s.entry.type === "directory");
  if (selected.length > 1 && !instr.dest.endsWith("/")) {
    throw new BuildStepError(
      "MOLT_COPY_DEST_NOT_DIR",
      `COPY with more than one source needs a destination ending in "/" (got "${instr.dest}")`,
      loc,
    );
  }

  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const entries = new Map<string, FileEntry>();
  const dir = (path: string): FileEntry => ({
    path,
    type: "directory",
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtimeNs: nowNs,
  });
  const put = (e: FileEntry) => {
    const mode = chmod !== undefined ? chmod : e.mode;
    entries.set(e.path, { ...e, uid: owner.uid, gid: owner.gid, mode });
  };

  const destDirPath = multiple ? dest : parentOf(dest);
  for (const a of [...ancestors(destDirPath), destDirPath])
    if (a !== "" && !entries.has(a)) entries.set(a, dir(a));
  if (multiple && dest !== "") put({ ...dir(dest) });

  for (const { entry } of selected) {
    throwIfAborted(rt.options.signal);
    if (entry.type === "directory") {
      for await (const e of entriesUnder(rt.context, entry, dest, rt.options.signal)) put(e);
    } else {
      const target = multiple ? posixJoin(dest, baseName(entry.path)) : dest;
      if (target === "")
        throw new BuildStepError("MOLT_COPY_DEST_NOT_DIR", `cannot copy a file onto "/"`, loc);
      put({ ...entry, path: target });
    }
  }
  const changes: Change[] = [...entries.values()].map((entry) => ({ kind: "add", entry }));
  await rt.addLayer(changes, instr.original, fs ? { parents: parentsFromRoot(fs.root) } : {});
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}
