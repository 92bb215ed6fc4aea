import { Worker } from "node:worker_threads";

/**
 * The worker of {@link decompressAhead}: spawns the decompressor on the file and drains its
 * stdout continuously (its own event loop), posting chunks to us up to a window of bytes in
 * flight, so the program never waits for our thread's synchronous file writes.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { spawn } = require("node:child_process");
const { openSync, closeSync } = require("node:fs");
const { path, cmd, args, window } = workerData;
let fd;
try {
  fd = openSync(path, "r");
} catch (e) {
  parentPort.postMessage({ type: "error", message: String(e.message) });
}
if (fd !== undefined) start();
function start() {
const child = spawn(cmd, args, { stdio: [fd, "pipe", "pipe"] });
let credit = window;
let stderr = "";
child.once("error", (e) => {
  closeSync(fd);
  parentPort.postMessage({ type: "error", message: String(e.message) });
});
child.once("spawn", () => {
  closeSync(fd);
  parentPort.postMessage({ type: "spawned" });
});
child.stderr.on("data", (d) => {
  stderr += d;
});
child.stdout.on("data", (b) => {
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  parentPort.postMessage({ type: "data", chunk: ab }, [ab]);
  credit -= b.length;
  if (credit <= 0) child.stdout.pause();
});
child.once("close", (code) => parentPort.postMessage({ type: "end", code, stderr }));
parentPort.on("message", (m) => {
  if (m === "kill") {
    child.kill();
    return;
  }
  credit += m;
  if (credit > 0) child.stdout.resume();
});
}
`;

/** Bytes the worker may have posted that we have not taken yet. */
const WINDOW = 8 << 20;

/** What {@link decompressAhead} gives: the bytes and a way to stop. */
export interface AheadStream {
  bytes: AsyncIterable<Buffer>;
  destroy(): void;
}

/**
 * Decompresses the file at `path` with `cmd args` in a worker thread that reads ahead up to
 * 8 MiB; `null` when the program cannot be started. `finish` runs after the program's output
 * ended, before the bytes are reported done.
 */
export async function decompressAhead(
  path: string,
  cmd: string,
  args: string[],
  finish: () => Promise<void>,
): Promise<AheadStream | null> {
  const worker = new Worker(WORKER, { eval: true, workerData: { path, cmd, args, window: WINDOW } });
  const queue: Buffer[] = [];
  let end: { code: number | null; stderr: string } | undefined;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const started = new Promise<boolean>((resolve) => {
    worker.on(
      "message",
      (m: { type: string; chunk?: ArrayBuffer; code?: number | null; stderr?: string; message?: string }) => {
        if (m.type === "spawned") resolve(true);
        else if (m.type === "error") {
          failure = new Error(`${cmd}: ${m.message}`);
          resolve(false);
        } else if (m.type === "data") queue.push(Buffer.from(m.chunk!));
        else if (m.type === "end") end = { code: m.code ?? null, stderr: m.stderr ?? "" };
        wake?.();
      },
    );
    worker.once("error", (e) => {
      failure = e;
      resolve(false);
      wake?.();
    });
    worker.once("exit", () => {
      if (!end && !failure) failure = new Error(`${cmd} reader stopped`);
      resolve(false);
      wake?.();
    });
  });
  if (!(await started)) {
    void worker.terminate();
    return null;
  }
  let stopped = false;
  async function* out(): AsyncGenerator<Buffer> {
    let taken = 0;
    try {
      for (;;) {
        const b = queue.shift();
        if (b !== undefined) {
          taken += b.length;
          if (taken >= 1 << 20) {
            worker.postMessage(taken);
            taken = 0;
          }
          yield b;
          continue;
        }
        if (end) break;
        if (failure) throw failure;
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
      if (end.code !== 0)
        throw new Error(`${cmd} ${args.join(" ")} failed (exit ${end.code}): ${end.stderr.trim()}`);
      await finish();
    } finally {
      stopped = true;
      void worker.terminate();
    }
  }
  return {
    bytes: out(),
    destroy: () => {
      if (stopped) return;
      stopped = true;
      worker.postMessage("kill");
      setTimeout(() => void worker.terminate(), 100).unref();
    },
  };
}
