import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import createDebug from "debug";

const debug = createDebug("molt:snapshot");

/** The result of one command run by a {@link ShellHelper}. */
export interface ShellResult {
  code: number;
  /** The command's stdout (latin1, byte-preserving); stderr too when the command redirects it. */
  out: string;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * A long-lived `sh` that runs commands for us. Starting a process from Node forks the whole Node
 * process, which gets slower as the heap grows (a 200k-entry baseline makes it several times
 * slower); the helper forks only itself, so `mount`, `umount` and `getfattr` cost the same
 * whatever the root's size. Commands run one at a time, in order.
 */
export class ShellHelper {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #token = randomBytes(8).toString("hex");
  #seq = 0;
  #buf = "";
  #queue: Array<{ marker: string; resolve: (r: ShellResult) => void; reject: (e: Error) => void }> = [];
  #dead: Error | undefined;

  constructor() {
    this.#child = spawn("sh", [], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdout.setEncoding("latin1");
    this.#child.stdout.on("data", (d: string) => this.#onData(d));
    this.#child.stderr.resume();
    this.#child.stdin.on("error", () => {});
    const fail = (e: Error) => {
      this.#dead = e;
      for (const q of this.#queue.splice(0)) q.reject(e);
    };
    this.#child.on("error", fail);
    this.#child.on("close", () => fail(new Error("shell helper exited")));
  }

  #onData(d: string): void {
    this.#buf += d;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const at = this.#buf.indexOf(head.marker);
      if (at < 0) return;
      const nl = this.#buf.indexOf("\n", at);
      if (nl < 0) return;
      const code = Number(this.#buf.slice(at + head.marker.length, nl).trim());
      const out = this.#buf.slice(0, at);
      this.#buf = this.#buf.slice(nl + 1);
      this.#queue.shift();
      head.resolve({ code, out: out.endsWith("\n") ? out.slice(0, -1) : out });
    }
  }

  /** Runs `argv` (quoted, no shell expansion); `redirect` is appended verbatim (e.g. `2>&1`). */
  run(argv: string[], redirect = "2>&1"): Promise<ShellResult> {
    return this.script(`${argv.map(quote).join(" ")} ${redirect}`);
  }

  /** Runs a shell fragment; its exit status is the last command's. */
  script(fragment: string): Promise<ShellResult> {
    if (this.#dead) return Promise.reject(this.#dead);
    const marker = `__molt_${this.#token}_${this.#seq++}__`;
    return new Promise((resolve, reject) => {
      this.#queue.push({ marker, resolve, reject });
      // The marker goes on its own line even when the output does not end with a newline.
      this.#child.stdin.write(`{ ${fragment}\n} </dev/null; printf '\\n%s %d\\n' ${marker} $?\n`);
    });
  }

  /** Ends the helper. */
  close(): void {
    if (this.#dead) return;
    debug("shell helper closed");
    this.#child.stdin.end();
  }
}
