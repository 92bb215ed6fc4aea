import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ContextArchiveError } from "./errors.js";

/** The compression of a tarball, detected from its first bytes. */
export type TarCompression = "none" | "gzip" | "zstd";

/** Reads the first bytes of a stream without consuming them. */
async function peek(input: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = input.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      have += chunk.length;
      continue;
    }
    if (input.readableEnded || input.destroyed) break;
    const more = await new Promise<boolean>((resolve, reject) => {
      const done = () => {
        input.off("readable", onReadable);
        input.off("end", onEnd);
        input.off("error", onError);
      };
      const onReadable = () => {
        done();
        resolve(true);
      };
      const onEnd = () => {
        done();
        resolve(false);
      };
      const onError = (e: Error) => {
        done();
        reject(e);
      };
      input.on("readable", onReadable);
      input.on("end", onEnd);
      input.on("error", onError);
    });
    if (!more) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) input.unshift(head);
  return head;
}

/** Detects gzip (`1f 8b`) and zstd (`28 b5 2f fd`) magic; anything else is taken as a plain tar. */
export function detectCompression(head: Buffer): TarCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/**
 * Returns the decompressed tar stream of `input`, detecting the compression by content.
 * gzip uses Node's zlib; zstd runs the system `zstd -dc` (Node 20's zlib has no zstd).
 */
export async function decompressTar(
  input: Readable,
  signal?: AbortSignal,
): Promise<{ stream: Readable; compression: TarCompression }> {
  const head = await peek(input, 4);
  // The source may have failed while we looked (e.g. a download that failed validation at its end).
  if (input.errored) throw input.errored;
  if (input.destroyed && !input.readableEnded)
    throw new ContextArchiveError("the context stream closed early");
  const compression = detectCompression(head);
  if (compression === "none") return { stream: input, compression };
  if (compression === "gzip") {
    const gunzip = createGunzip();
    input.on("error", (e) => gunzip.destroy(e));
    return { stream: input.pipe(gunzip), compression };
  }
  const child = spawn("zstd", ["-dc", "--no-progress"], {
    stdio: ["pipe", "pipe", "pipe"],
    ...(signal ? { signal } : {}),
  });
  const out = new PassThrough();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.on("error", (e) =>
    out.destroy(
      new ContextArchiveError(
        (e as NodeJS.ErrnoException).code === "ENOENT"
          ? "zstd-compressed context needs the zstd program, which is not installed"
          : `zstd failed: ${e.message}`,
        undefined,
        { cause: e },
      ),
    ),
  );
  child.stdin.on("error", () => {}); // EPIPE when zstd exits early; reported via the exit code
  input.on("error", (e) => {
    child.kill();
    out.destroy(e);
  });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  let stdoutDone = false;
  let exit: number | null | undefined;
  const finish = () => {
    if (!stdoutDone || exit === undefined) return;
    if (exit === 0) out.end();
    else
      out.destroy(
        new ContextArchiveError(`zstd could not decompress the context: ${stderr.trim() || `exit ${exit}`}`),
      );
  };
  child.stdout.on("end", () => {
    stdoutDone = true;
    finish();
  });
  child.on("close", (code) => {
    exit = code;
    finish();
  });
  out.on("close", () => {
    if (exit === undefined) child.kill();
  });
  return { stream: out, compression };
}
