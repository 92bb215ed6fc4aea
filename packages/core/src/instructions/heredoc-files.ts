import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Heredoc } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";
import type { CopyItem } from "./copy-core.js";

/**
 * `COPY <<EOF /dest` / `ADD <<EOF /dest`: each here-document becomes a file named after its
 * delimiter, mode 0644 and root-owned unless --chmod/--chown say otherwise, as BuildKit does.
 * The content arrives already expanded (or not, for a quoted delimiter) from the parser.
 */
export async function heredocItems(heredocs: readonly Heredoc[], rt: StageRuntime): Promise<CopyItem[]> {
  if (heredocs.length === 0) return [];
  const dir = await rt.scratchDir("heredoc");
  const items: CopyItem[] = [];
  let i = 0;
  for (const doc of heredocs) {
    const file = join(dir, String(i++));
    await writeFile(file, doc.content);
    items.push({
      kind: "entry",
      entry: {
        path: doc.name,
        type: "file",
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: Buffer.byteLength(doc.content),
        mtimeNs: BigInt(Date.now()) * 1_000_000n,
        source: file,
      },
    });
  }
  return items;
}
