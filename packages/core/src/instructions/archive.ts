import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";

/** Archive formats ADD unpacks, told apart by their first bytes as docker does. */
export type ArchiveKind = "tar" | "gzip" | "bzip2" | "xz" | "zstd";

/** Reads the first 512+ bytes of `path` and says which archive it is, if any. */
export async function detectArchive(path: string): Promise<ArchiveKind | undefined> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b[0] === 0x1f && b[1] === 0x8b) return "gzip";
    if (b.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
    if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
    if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return "zstd";
    if (bytesRead >= 262 && b.subarray(257, 262).toString("latin1") === "ustar") return "tar";
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * A stream of the archive's tar bytes: gzip, zstd and plain tar go as they are (the extractor
 * detects them); bzip2 and xz are decompressed by the system's `bzip2`/`xz` programs.
 */
export function tarStream(path: string, kind: ArchiveKind, open: (p: string) => Readable): Readable {
  if (kind !== "bzip2" && kind !== "xz") return open(path);
  const out = new PassThrough();
  const child = spawn(kind, ["-dc", path], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  child.on("error", (e) => out.destroy(new Error(`cannot run ${kind} to unpack ${path}: ${e.message}`)));
  child.on("close", (code) => {
    if (code !== 0) out.destroy(new Error(`${kind} -dc ${path} failed (${code}): ${err.trim()}`));
  });
  child.stdout.pipe(out);
  return out;
}
