import { posix } from "node:path";
import type { FileEntry } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { shownInput } from "../cache/key.js";
import { resolveContainerPath, toLayerPath } from "../stage/paths.js";
import { isDirectoryIn, type RootView } from "../stage/root-view.js";
import type { StageRuntime } from "../stage/runtime.js";
import { ancestors } from "./copy-paths.js";
import { type FileOwner, resolveFileOwner } from "./file-owner.js";
import type { InstructionStep } from "./step.js";

type WorkdirInstruction = Extract<Instruction, { kind: "WORKDIR" }>;

/**
 * WORKDIR: sets the working directory (an absolute path as written, a relative one against the
 * previous one) and, as the reference says, creates it when missing: the missing components go
 * into a layer, mode 0755, owned by the current USER (BuildKit does the same). An existing
 * directory adds no layer.
 * The path is set in {@link InstructionStep.configure} (also on a cache hit); only creating the
 * directory needs the root filesystem, and that is behind the cache decision.
 */
export const workdirStep: InstructionStep<WorkdirInstruction> = {
  changesFiles: true,
  cache: "workdir",
  inputs: (_instr, view) => [shownInput("user", view.state.config.config?.User ?? "")],
  configure(instr, rt) {
    const cfg = (rt.state.config.config ??= {});
    // BuildKit keeps an absolute path as written (`/tmp/` stays `/tmp/`); a relative one is
    // joined to the current directory and cleaned.
    cfg.WorkingDir = posix.isAbsolute(instr.path)
      ? instr.path
      : resolveContainerPath(cfg.WorkingDir, instr.path);
  },
  apply: (_instr, rt) => createWorkdir(rt),
};

/** Creates the (configured) working directory's missing components in a layer. */
async function createWorkdir(rt: StageRuntime): Promise<void> {
  const cfg = (rt.state.config.config ??= {});
  const workdir = cfg.WorkingDir ?? "/";
  const path = toLayerPath(workdir);
  const createdBy = `WORKDIR ${workdir}`;
  if (path === "") {
    rt.addEmptyHistory(createdBy);
    return;
  }
  const view = await rt.rootView();
  const missing: string[] = [];
  for (const p of [...ancestors(path), path]) if (!(view && (await isDirectoryIn(view, p)))) missing.push(p);
  if (missing.length === 0) {
    rt.addEmptyHistory(createdBy);
    return;
  }
  const owner = await ownerOf(cfg.User, view);
  const mtimeNs = BigInt(Date.now()) * 1_000_000n;
  const entries: FileEntry[] = missing.map((p) => ({
    path: p,
    type: "directory",
    mode: 0o755,
    ...owner,
    size: 0,
    mtimeNs,
  }));
  await rt.addLayer(
    entries.map((entry) => ({ kind: "add", entry })),
    createdBy,
  );
}

async function ownerOf(user: string | undefined, root: RootView | undefined): Promise<FileOwner> {
  // BuildKit makes the directory with a file operation owned by USER, resolved with the file
  // operations' rules (not RUN's): see resolveFileOwner.
  return user ? resolveFileOwner(root, user) : { uid: 0, gid: 0 };
}
