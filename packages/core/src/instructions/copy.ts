import type { Instruction } from "@molt/parser";
import { BuildStepError, SourceNotFoundError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";
import { type CopyItem, copyItems } from "./copy-core.js";
import { entriesUnder, selectSources } from "./copy-selection.js";
import { heredocItems } from "./heredoc-files.js";

type CopyInstruction = Extract<Instruction, { kind: "COPY" }>;

/** COPY from the build context: plain paths and wildcards, files and directories, one layer. */
export async function applyCopy(instr: CopyInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  for (const [flag, on] of [
    ["--parents", instr.parents],
    ["--exclude", instr.exclude.length > 0],
  ] as const) {
    if (on) throw new BuildStepError("MOLT_UNSUPPORTED", `COPY ${flag} is not supported yet`, loc);
  }
  // COPY --from reads another stage's (or an image's) files and keeps their owners unless
  // --chown is given, as BuildKit does; COPY from the context makes everything root-owned.
  const fromOther = instr.from !== undefined && instr.from !== "";
  const source = fromOther ? await rt.fromSource(instr.from!, loc) : rt.context;
  const { selected, missing } = await selectSources(source, instr.sources);
  if (missing.length > 0)
    throw new SourceNotFoundError(missing[0]!, loc, fromOther ? `--from=${instr.from}` : undefined);
  const signal = rt.options.signal;
  const items: CopyItem[] = await heredocItems(instr.heredocs, rt);
  for (const item of selected.map(
    ({ entry }): CopyItem =>
      entry.type === "directory"
        ? { kind: "contents", contents: () => entriesUnder(source, entry, "", signal), keepOwner: fromOther }
        : { kind: "entry", entry, keepOwner: fromOther },
  ))
    items.push(item);
  await copyItems(rt, items, {
    dest: instr.dest,
    sourceCount: instr.sources.length + instr.heredocs.length,
    chown: instr.chown,
    chmod: instr.chmod,
    createdBy: instr.original,
    location: loc,
    keyword: "COPY",
  });
}
