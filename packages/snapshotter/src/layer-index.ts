import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { DigestMismatchError } from "@molt/oci";
import { ByteReader } from "./byte-reader.js";
import { openDecompressed } from "./decompress.js";
import { DiffIdMismatchError, ExtractError, ExtractLimitError, throwIfAborted } from "./errors.js";
import type { LayerSource } from "./extract.js";
import { layerStreamError } from "./layer-stream-error.js";
import { cleanPath } from "./paths.js";
import { TarReader } from "./tar-reader.js";

/** What one tar entry of a layer is, as an index records it. */
export type IndexEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  /** A `.wh.<name>` marker: `path` names what it deletes. */
  | "whiteout"
  /** A `.wh..wh..opq` marker: `path` names the directory it makes opaque. */
  | "opaque"
  /** An entry extraction skips (an unsupported type); its parents are still made. */
  | "other";

/** One tar entry of a layer, without its body (except small files the caller asked to keep). */
export interface IndexEntry {
  /** The entry's name, cleaned as the container sees it from `/` (`""` is the root). */
  path: string;
  type: IndexEntryType;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  /** Bytes of a regular file's body (0 otherwise). */
  size: number;
  /** A symlink's target as stored, or a hardlink's target (cleaned). */
  linkTarget?: string;
  /** The body of a regular file that {@link IndexLayerOptions.keepContent} chose. */
  content?: Buffer;
}

/** The entries of one layer, in tar order (order matters: later entries win, markers apply in place). */
export interface LayerIndex {
  /** The layer's diff_id (`sha256:` of its uncompressed tar), when known. */
  diffId?: string;
  entries: IndexEntry[];
}

/** Options of {@link indexLayer}. */
export interface IndexLayerOptions {
  signal?: AbortSignal;
  /** Keep the body of this regular file (`path` cleaned, `size` in bytes) in the index. */
  keepContent?: (path: string, size: number) => boolean;
  /** Most entries one layer may hold (a tar bomb guard; default none). */
  maxEntries?: number;
}

const TYPES = new Set(["file", "directory", "symlink", "hardlink", "char", "block", "fifo"]);

/**
 * Reads a layer once (download and decompress as it streams, nothing written to disk) and
 * records every entry's path, type, mode, owner, time, size and link target: enough to answer
 * what a root built from the layers holds, without extracting them (see {@link RootIndex}). The
 * layer's digest and diff_id are verified as for {@link extract}.
 *
 * @example
 * ```ts
 * const index = await indexLayer({ open: () => createReadStream("layer.tar.gz") });
 * index.entries.find((e) => e.path === "etc/passwd")?.mode; // 0o644
 * ```
 * @throws {ExtractError} for a corrupt layer, {@link DiffIdMismatchError} / DigestMismatchError
 * when the bytes are not the ones named.
 */
export async function indexLayer(source: LayerSource, options: IndexLayerOptions = {}): Promise<LayerIndex> {
  const { signal } = options;
  throwIfAborted(signal);
  const stream = await source.open();
  const opened = await openDecompressed(stream, source.digest?.startsWith("sha256:") ?? false);
  const onAbort = () => opened.destroy();
  signal?.addEventListener("abort", onAbort, { once: true });
  const tarHash = createHash("sha256");
  const reader = new ByteReader(
    (async function* () {
      for await (const b of opened.bytes) {
        tarHash.update(b);
        yield b;
      }
    })(),
  );
  const tar = new TarReader(reader);
  const entries: IndexEntry[] = [];
  let name = "";
  try {
    for (;;) {
      throwIfAborted(signal);
      const h = await tar.next();
      if (h === null) break;
      name = h.name;
      if (options.maxEntries !== undefined && entries.length >= options.maxEntries)
        throw new ExtractLimitError("entries", options.maxEntries, {
          entry: h.name,
          index: 0,
          ...(source.digest ? { layer: source.digest } : {}),
        });
      const path = cleanPath(h.name);
      const slash = path.lastIndexOf("/");
      const base = slash < 0 ? path : path.slice(slash + 1);
      const dir = slash < 0 ? "" : path.slice(0, slash);
      const common = { mode: h.mode, uid: h.uid, gid: h.gid, mtimeNs: h.mtimeNs, size: 0 };
      let content: Buffer | undefined;
      if (base.startsWith(".wh.")) {
        const target = base === ".wh..wh..opq" ? dir : dir === "" ? base.slice(4) : `${dir}/${base.slice(4)}`;
        entries.push({ path: target, type: base === ".wh..wh..opq" ? "opaque" : "whiteout", ...common });
      } else if (!TYPES.has(h.type)) {
        entries.push({ path, type: "other", ...common });
      } else if (h.type === "file") {
        if (h.size > 0 && options.keepContent?.(path, h.size)) {
          const parts: Buffer[] = [];
          for await (const c of reader.chunks(h.size)) parts.push(Buffer.from(c));
          content = Buffer.concat(parts);
        }
        entries.push({ path, type: "file", ...common, size: h.size, ...(content ? { content } : {}) });
      } else {
        const link =
          h.type === "symlink"
            ? { linkTarget: h.linkname }
            : h.type === "hardlink"
              ? { linkTarget: cleanPath(h.linkname) }
              : {};
        entries.push({ path, type: h.type as IndexEntryType, ...common, ...link });
      }
      if (!content && h.size > 0) await reader.skip(h.size);
      await tar.finishEntry();
    }
    name = "";
    await reader.drain();
  } catch (e) {
    opened.destroy();
    throw layerStreamError(
      e,
      { verb: "read", name, layer: source.digest, signal },
      (x) => x instanceof ExtractLimitError || x instanceof ExtractError,
    );
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  const got = opened.digest();
  if (got !== undefined && source.digest !== undefined && got !== source.digest)
    throw new DigestMismatchError(source.digest, got, "layer");
  const diffId = `sha256:${tarHash.digest("hex")}`;
  if (source.diffId !== undefined && diffId !== source.diffId)
    throw new DiffIdMismatchError(0, source.digest, source.diffId, diffId);
  return { diffId, entries };
}

const CODES: Record<IndexEntryType, string> = {
  file: "f",
  directory: "d",
  symlink: "l",
  hardlink: "h",
  char: "c",
  block: "b",
  fifo: "p",
  whiteout: "w",
  opaque: "o",
  other: "x",
};
const FROM_CODE = new Map(Object.entries(CODES).map(([k, v]) => [v, k as IndexEntryType]));
const FORMAT = "molt-layer-index-v1";

type Row = [string, string, number, number, number, string, number, (string | null)?, (string | null)?];

/** A layer index as bytes (gzip'd JSON, one row per entry), to keep beside cached layers. */
export function serializeLayerIndex(index: LayerIndex): Buffer {
  const rows: Row[] = index.entries.map((e) => {
    const row: Row = [e.path, CODES[e.type], e.mode, e.uid, e.gid, e.mtimeNs.toString(), e.size];
    if (e.linkTarget !== undefined || e.content) row.push(e.linkTarget ?? null);
    if (e.content) row.push(e.content.toString("base64"));
    return row;
  });
  return gzipSync(JSON.stringify({ format: FORMAT, diffId: index.diffId ?? null, entries: rows }));
}

/** A format or content error in a stored layer index. */
export class LayerIndexFormatError extends Error {
  readonly code = "MOLT_LAYER_INDEX_FORMAT";
}

/**
 * Reads bytes written by {@link serializeLayerIndex}.
 * @throws {LayerIndexFormatError} when they are not a layer index.
 */
export function parseLayerIndex(bytes: Buffer): LayerIndex {
  let doc: { format?: unknown; diffId?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(gunzipSync(bytes).toString("utf8")) as typeof doc;
  } catch (e) {
    throw new LayerIndexFormatError(`not a layer index: ${(e as Error).message}`);
  }
  if (doc.format !== FORMAT || !Array.isArray(doc.entries))
    throw new LayerIndexFormatError("not a layer index");
  const entries = (doc.entries as unknown[]).map((r): IndexEntry => {
    const row = r as Row;
    const type = FROM_CODE.get(row[1]);
    if (!Array.isArray(r) || typeof row[0] !== "string" || !type)
      throw new LayerIndexFormatError("bad entry");
    const e: IndexEntry = {
      path: row[0],
      type,
      mode: Number(row[2]),
      uid: Number(row[3]),
      gid: Number(row[4]),
      mtimeNs: BigInt(row[5]),
      size: Number(row[6]),
    };
    if (typeof row[7] === "string") e.linkTarget = row[7];
    if (typeof row[8] === "string") e.content = Buffer.from(row[8], "base64");
    return e;
  });
  return typeof doc.diffId === "string" ? { diffId: doc.diffId, entries } : { entries };
}
