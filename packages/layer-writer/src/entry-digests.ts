import { type TarHeader, tarTypeFlag } from "@molt/oci";

/**
 * Every tar entry of a written layer, in tar order, with the sha256 of its exact bytes: the PAX
 * extension header before it (if any), its ustar header, its body and the body's padding — the
 * bytes a reader of the uncompressed layer would hash for the same entry. The end-of-archive
 * blocks are in no entry. Asked for with {@link WriteLayerOptions.entryDigests}.
 */
export interface WrittenEntries {
  /** Each entry's in-layer path as written (`name` of its header, no trailing `/`). */
  paths: string[];
  /** Each entry's tar type flag (`"0"` file, `"5"` directory, `"2"` symlink, `"1"` hard link, …). */
  types: string[];
  /** A hard link's target path (type `"1"`), else undefined. */
  linkTargets: (string | undefined)[];
  /** sha256 (hex) of each entry's bytes. */
  digests: string[];
  /**
   * Offset of each entry's first byte in the uncompressed tar, plus one more: where the
   * end-of-archive blocks start. Entry `i` is bytes `offsets[i]` to `offsets[i + 1]`.
   */
  offsets: number[];
}

/** Each entry type's flag as a one-character string, made once. */
const TYPE_CHARS: Partial<Record<TarHeader["type"], string>> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

/** Collects {@link WrittenEntries} while a layer is written (the digests come from the block sink). */
export class EntryRecorder {
  readonly written: WrittenEntries = { paths: [], types: [], linkTargets: [], digests: [], offsets: [] };

  /** The header of the entry being written. */
  header(h: TarHeader): void {
    const w = this.written;
    w.paths.push(h.name);
    // the type flag of its ustar block (the block after any PAX header)
    w.types.push(TYPE_CHARS[h.type] ?? String.fromCharCode(tarTypeFlag(h.type) || 0x30));
    w.linkTargets.push(h.type === "hardlink" ? h.linkname : undefined);
  }
}
