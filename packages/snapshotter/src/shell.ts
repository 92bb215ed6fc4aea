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
 *
 * Started with {@link ShellHelper.start} `{ privateMounts: true }` (as root), the shell runs in a
 * private mount namespace of its own (`unshare --mount --propagation private`) and dies with this
 * process (`setpriv --pdeathsig KILL`; its stdin also closes then): every mount it makes lives in
 * that namespace only, so the kernel removes them when this process dies, even by SIGKILL, and
 * the host's mount table never shows them. This process reaches a path of that namespace as
 * `/proc/<pid>/root/<path>` ({@link ShellHelper.view}).
 */
export class ShellHelper {
  /**
   * Starts a helper; with `privateMounts` (and root), in a private mount namespace when this host
   * allows one (else, with a debug line, a plain shell in this namespace).
   */
  static async start(options: { privateMounts?: boolean } = {}): Promise<ShellHelper> {
    if (options.privateMounts && process.getuid?.() === 0) {
      const held = new ShellHelper(true);
      const ok = await held.script(":").then(
        (r) => r.code === 0,
        () => false,
      );
      if (ok) return held;
      held.close();
      debug("no private mount namespace for the helper (unshare/setpriv failed): mounting in this one");
    }
    return new ShellHelper(false);
  }

  /** The helper's pid when it holds a private mount namespace (mounts made through it live there). */
  readonly mountNamespacePid: number | undefined;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #token = randomBytes(8).toString("hex");
  #seq = 0;
  #buf = "";
  #queue: Array<{ marker: string; resolve: (r: ShellResult) => void; reject: (e: Error) => void }> = [];
  #dead: Error | undefined;

  /** A plain shell in this mount namespace; see {@link ShellHelper.start} for the other kind. */
  constructor(privateMounts = false) {
    this.#child = privateMounts
      ? spawn(
          "unshare",
          ["--mount", "--propagation", "private", "--", "setpriv", "--pdeathsig", "KILL", "--", "sh"],
          { stdio: ["pipe", "pipe", "pipe"] },
        )
      : spawn("sh", [], { stdio: ["pipe", "pipe", "pipe"] });
    this.mountNamespacePid = privateMounts ? this.#child.pid : undefined;
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

  /**
   * The path through which this process sees `path` of the helper's mount namespace
   * (`/proc/<pid>/root<path>`); `path` itself for a helper without a namespace of its own.
   * Never pass such a path to `realpath`: the kernel follows `/proc/<pid>/root` into the other
   * namespace, but a realpath in user space reads it as the link text `/`.
   */
  view(path: string): string {
    return this.mountNamespacePid === undefined ? path : `/proc/${this.mountNamespacePid}/root${path}`;
  }

  /** Ends the helper. */
  close(): void {
    if (this.#dead) return;
    debug("shell helper closed");
    this.#child.stdin.end();
  }
}
