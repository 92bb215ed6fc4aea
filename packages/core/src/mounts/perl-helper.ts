import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import createDebug from "debug";
import { BuildAbortedError } from "../errors.js";
import { MountLockError } from "./errors.js";

const debug = createDebug("molt:mounts");

/**
 * The helper holding every `flock(2)` of this process, and setting exact nanosecond mtimes, so a
 * lock or an mtime costs a line on a pipe instead of a program started each time (Node has no
 * flock, and its utimes takes a double, 238 ns coarse today). Perl (perl-base is part of every
 * Debian and Ubuntu system) is the smallest thing at hand that calls flock(2) and utimensat(2)
 * and keeps many file descriptors open. Requests are `<id> s|x|n <path>` (shared, exclusive,
 * exclusive without waiting), `<id> u` (let go, or stop waiting) and `<id> t <s> <ns> <path>`
 * (mtime, atime untouched; `$ARGV[0]` is utimensat's syscall number, 0 when unknown); replies
 * `<id> ok|busy|un|err <reason>`. Waits are polled every 10 ms with
 * LOCK_NB, so one helper serves any number of concurrent waits. When this process dies, even by
 * SIGKILL, the helper reads end-of-file on its stdin and exits, and the kernel drops its locks.
 */
const SCRIPT = String.raw`
use strict; use Errno qw(EWOULDBLOCK EINTR);
$| = 1;
my (%held, %wait); my $buf = ''; my $nr = $ARGV[0] + 0;
sub attempt {
  my ($id) = @_; my ($fh, $op) = @{$wait{$id}};
  if (flock($fh, ($op eq 's' ? 1 : 2) | 4)) { delete $wait{$id}; $held{$id} = $fh; print "$id ok\n"; return; }
  if ($! == EWOULDBLOCK) { if ($op eq 'n') { delete $wait{$id}; close $fh; print "$id busy\n"; } return; }
  my $e = "$!"; delete $wait{$id}; close $fh; print "$id err $e\n";
}
print "ready\n";
while (1) {
  my $rin = ''; vec($rin, 0, 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, %wait ? 0.01 : undef);
  if ($n > 0) {
    my $r = sysread(STDIN, $buf, 65536, length $buf);
    exit 0 unless $r;
    while ($buf =~ s/^([^\n]*)\n//) {
      my ($id, $op, $path) = split / /, $1, 3;
      if ($op eq 't') {
        my ($sec, $nsec, $p) = split / /, $path, 3;
        unless ($nr) { print "$id err no utimensat\n"; next; }
        my $ts = pack('q4', 0, 1073741822, $sec, $nsec);
        print syscall($nr, -100, $p, $ts, 0) == 0 ? "$id ok\n" : "$id err $!\n"; next;
      }
      if ($op eq 'u') { delete $wait{$id}; my $fh = delete $held{$id}; close $fh if $fh; print "$id un\n"; next; }
      my $fh;
      unless (open($fh, '>>', $path)) { print "$id err $!\n"; next; }
      $wait{$id} = [$fh, $op];
      attempt($id);
    }
  } elsif ($n < 0 && $! != EINTR) { exit 1; }
  attempt($_) for keys %wait;
}
`;

/** utimensat(2)'s number on the 64-bit Linux architectures (the helper packs 64-bit timespecs). */
const UTIMENSAT: Partial<Record<string, number>> = {
  x64: 280,
  arm64: 88,
  riscv64: 88,
  loong64: 88,
  ppc64: 304,
  s390x: 315,
};

type Reply = "ok" | "busy" | "un" | `err ${string}`;
type Child = ChildProcessByStdio<Writable, Readable, null>;
/** Child stdio pipes are sockets, which can stop keeping the event loop alive. */
type Refable = { ref?(): void; unref?(): void };

/** One running helper (see {@link SCRIPT}): `lock`, and `setMtime` (true when it set it). */
export class PerlHelper {
  #next = 0;
  #waiting = new Map<number, (r: Reply) => void>();
  #buf = "";
  #dead: Error | undefined;
  private constructor(private readonly child: Child) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => this.#data(d));
    child.stdin.on("error", () => {});
    child.once("close", (code, sig) => {
      this.#dead = new MountLockError(`the lock helper exited (${sig ?? code})`);
      debug("lock helper exited (%s): its locks are gone", sig ?? code);
      for (const w of this.#waiting.values()) w(`err ${this.#dead.message}`);
      this.#waiting.clear();
    });
    child.unref();
    (child.stdin as Refable).unref?.();
    this.#idle();
  }

  /** Starts a helper; `undefined` when perl cannot run here. */
  static start(): Promise<PerlHelper | undefined> {
    return new Promise((resolve) => {
      let child: Child;
      try {
        child = spawn("perl", ["-e", SCRIPT, String(UTIMENSAT[process.arch] ?? 0)], {
          stdio: ["pipe", "pipe", "ignore"],
          env: { PATH: "/usr/bin:/bin:/usr/local/bin", LC_ALL: "C" },
        });
      } catch {
        resolve(undefined);
        return;
      }
      let out = "";
      const onData = (d: Buffer) => {
        out += d.toString();
        if (!out.startsWith("ready\n")) return;
        child.stdout.off("data", onData);
        child.off("error", onError);
        const h = new PerlHelper(child);
        h.#data(out.slice("ready\n".length));
        resolve(h);
      };
      const onError = (e: Error) => {
        debug("no lock helper (%s): flock(1) per lock", e.message);
        resolve(undefined);
      };
      child.once("error", onError);
      child.once("close", () => resolve(undefined));
      child.stdout.on("data", onData);
    });
  }

  /** False once the helper process has exited (its locks are gone). */
  get alive(): boolean {
    return this.#dead === undefined;
  }

  #data(d: string): void {
    this.#buf += d;
    for (let nl = this.#buf.indexOf("\n"); nl >= 0; nl = this.#buf.indexOf("\n")) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      const sp = line.indexOf(" ");
      const id = Number(line.slice(0, sp));
      const w = this.#waiting.get(id);
      if (!w) continue;
      this.#waiting.delete(id);
      w(line.slice(sp + 1) as Reply);
    }
    this.#idle();
  }

  /** Keeps this process alive only while a reply is awaited. */
  #idle(): void {
    const out = this.child.stdout as Refable;
    if (this.#waiting.size > 0) out.ref?.();
    else out.unref?.();
  }

  #send(line: string, id: number): Promise<Reply> {
    if (this.#dead) return Promise.resolve(`err ${this.#dead.message}` as const);
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#idle();
      this.child.stdin.write(`${line}\n`);
    });
  }

  /** Takes the lock; resolves once held (`ok`), or `busy` for `n`, or `err …`. */
  async lock(
    file: string,
    op: "s" | "x" | "n",
    signal: AbortSignal | undefined,
  ): Promise<{ reply: Reply; release: () => Promise<void> }> {
    const id = this.#next++;
    const release = async () => {
      await this.#send(`${id} u`, id);
    };
    if (!signal) return { reply: await this.#send(`${id} ${op} ${file}`, id), release };
    const got = this.#send(`${id} ${op} ${file}`, id);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    const r = await Promise.race([got, aborted]);
    signal.removeEventListener("abort", onAbort!);
    if (r === "aborted") {
      // Stop waiting (or give back what arrived meanwhile): `u` covers both.
      this.#waiting.delete(id);
      this.child.stdin.write(`${id} u\n`);
      throw new BuildAbortedError();
    }
    return { reply: r, release };
  }

  /** Sets `path`'s mtime to exactly `ns` (atime untouched); false when it could not. */
  async setMtime(path: string, ns: bigint): Promise<boolean> {
    if (path.includes("\n")) return false;
    const id = this.#next++;
    const s = ns / 1_000_000_000n;
    const r = await this.#send(`${id} t ${s} ${ns - s * 1_000_000_000n} ${path}`, id);
    if (r !== "ok") debug("exact mtime of %s: %s", path, r);
    return r === "ok";
  }
}

let started: Promise<PerlHelper | undefined> | undefined;

/** This process's helper (started on first use, again if it died); `undefined` without perl. */
export async function perlHelper(): Promise<PerlHelper | undefined> {
  const h = await (started ??= PerlHelper.start());
  if (h && !h.alive) {
    started = PerlHelper.start();
    return started;
  }
  return h;
}
