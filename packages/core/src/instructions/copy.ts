import { IgnoreMatcher } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { sourceInputs } from "../cache/content-digest.js";
import type { KeyInput } from "../cache/key.js";
import { SourceNotFoundError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";
import { parseChmod } from "./chown-chmod.js";
import { type CopyItem, copyItems } from "./copy-core.js";
import { entriesUnder, listedUnder, selectSources } from "./copy-selection.js";
import { heredocItems } from "./heredoc-files.js";
import type { InstructionStep, PlanView } from "./step.js";

type CopyInstruction = Extract<Instruction, { kind: "COPY" }>;

/**
 * COPY's key inputs: from the context, the content digests of what it copies (after
 * `.dockerignore` and `--exclude`); `--from=<stage>` the stage's final key, `--from=<image>` its
 * manifest digest (the paths, destination and flags are in the expanded instruction). Nothing is
 * read from a root filesystem and no `--from` source is prepared.
 */
export async function copyInputs(instr: CopyInstruction, view: PlanView): Promise<KeyInput[]> {
  if (instr.from !== undefined && instr.from !== "")
    return [await view.fromInput(instr.from, instr.location)];
  const { selected, missing } = await selectSources(view.context, instr.sources);
  if (missing.length > 0) throw new SourceNotFoundError(missing[0]!, instr.location);
  const excluded = instr.exclude.length > 0 ? new IgnoreMatcher(instr.exclude) : undefined;
  const entries = selected.map((s) => s.entry).filter((e) => !excluded?.matches(e.path));
  const signal = view.options.signal;
  return sourceInputs(view.context, entries, {
    chmod: parseChmod(instr.chmod, instr.location),
    normalizeModes: view.options.cache?.normalizeModes ?? false,
    ...(excluded ? { exclude: (rel: string) => excluded.matches(rel) } : {}),
    ...(signal ? { signal } : {}),
  });
}

/** COPY as a step: changes files, cached by content (unless `--cache-copy-layers=false`). */
export const copyStep: InstructionStep<CopyInstruction> = {
  changesFiles: true,
  cache: "copy",
  inputs: copyInputs,
  apply: (instr, rt) => applyCopy(instr, rt),
};

/**
 * COPY from the build context, another stage or an image: plain paths and wildcards, files and
 * directories, here-documents, `--exclude` patterns and `--parents`, in one layer.
 */
export async function applyCopy(instr: CopyInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  // COPY --from reads another stage's (or an image's) files and keeps their owners unless
  // --chown is given, as BuildKit does; COPY from the context makes everything root-owned.
  const fromOther = instr.from !== undefined && instr.from !== "";
  // A --from source may be a stage still building: the destination's facts (the base layers'
  // index, when COPY reads them from it) are read meanwhile, not after it (issue 16). The stage's
  // layers cannot change while this step waits, so the view is the one asked for afterwards.
  const view = fromOther ? rt.rootView() : undefined;
  view?.catch(() => {});
  const source = fromOther ? await rt.fromSource(instr.from!, loc) : rt.context;
  const { selected, missing } = await selectSources(source, instr.sources);
  if (missing.length > 0) {
    throw new SourceNotFoundError(missing[0]!, loc, fromOther ? `--from=${instr.from}` : undefined);
  }
  const signal = rt.options.signal;
  const items: CopyItem[] = [];
  const excluded = instr.exclude.length > 0 ? new IgnoreMatcher(instr.exclude) : undefined;
  // Each written source is one BuildKit copy action: hard links are kept within it (its
  // wildcard matches included), not between two sources.
  const scopes = new Map<string, object>();
  const scopeOf = (written: string) => {
    let s = scopes.get(written);
    if (!s) scopes.set(written, (s = {}));
    return s;
  };
  for (const { entry, written } of selected) {
    if (excluded?.matches(entry.path)) continue;
    const linkScope = scopeOf(written);
    if (entry.type === "directory") {
      const all = () => entriesUnder(source, entry, "", signal);
      items.push({
        kind: "contents",
        contents: excluded ? () => withoutExcluded(all(), excluded) : all,
        ...(excluded ? {} : { listed: listedUnder(source, entry, signal) }),
        keepOwner: fromOther,
        linkScope,
        ...(instr.parents ? { prefix: entry.path } : {}),
      });
    } else {
      items.push({
        kind: "entry",
        entry,
        keepOwner: fromOther,
        linkScope,
        ...(instr.parents ? { keepPath: true } : {}),
      });
    }
  }
  // Heredocs come after the written sources, as dockerfile2llb copies SourceContents after
  // SourcePaths: a heredoc overrides a source file of the same name.
  items.push(...(await heredocItems(instr.heredocs, rt)));
  await copyItems(rt, items, {
    dest: instr.dest,
    sourceCount: instr.sources.length + instr.heredocs.length,
    chown: instr.chown,
    chmod: instr.chmod,
    createdBy: instr.original,
    location: loc,
    keyword: "COPY",
    fromContext: !fromOther,
    ...(view ? { view } : {}),
  });
}

/**
 * `COPY --exclude`: leaves out entries matching the patterns (docker's .dockerignore syntax,
 * matched against the path relative to the copied directory), and everything below an excluded
 * directory.
 */
export async function* withoutExcluded(
  entries: AsyncIterable<FileEntry>,
  excluded: IgnoreMatcher,
): AsyncIterable<FileEntry> {
  const pruned: string[] = [];
  for await (const e of entries) {
    if (pruned.some((d) => e.path.startsWith(`${d}/`))) continue;
    if (excluded.matches(e.path)) {
      if (e.type === "directory") pruned.push(e.path);
      continue;
    }
    yield e;
  }
}
