import { spawn } from "node:child_process";
import { lstat, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freshRootfs, mountsUnder, processesIn } from "../../../test/harness/runner-rootfs.js";
import {
  ChrootRunner,
  detectHost,
  type HostCapabilities,
  heredocRunArgv,
  MAX_OUTPUT_CHUNK,
  type Runner,
  type RunSpec,
  resolveUser,
  runEnvironment,
  selectRunner,
} from "../src/runner/index.js";
import { runScratchParent } from "../src/runner/scratch-dir.js";

const isRoot = process.geteuid?.() === 0;

interface Captured {
  stdout: string[];
  stderr: string[];
}

let caps: HostCapabilities;
let runner: Runner;
let rootfs: string;
let dispose: () => Promise<void>;

beforeAll(async () => {
  if (!isRoot) return;
  runner = await selectRunner("chroot");
  caps = await detectHost({ userNamespaces: false });
});
beforeEach(async () => {
  if (!isRoot) return;
  ({ rootfs, dispose } = await freshRootfs());
});
afterEach(async () => {
  if (!isRoot) return;
  expect(await mountsUnder(rootfs)).toEqual([]);
  await dispose();
});

async function spec(r: string, argv: string[], more: Partial<RunSpec> & { userSpec?: string } = {}) {
  const user = await resolveUser(r, more.userSpec);
  const out: Captured = { stdout: [], stderr: [] };
  const s: RunSpec = {
    rootfs: r,
    argv,
    env: runEnvironment(["PATH=/bin"], new Map(), user),
    cwd: "/",
    user,
    onOutput: (stream, line) => out[stream].push(line),
    ...more,
  };
  return { s, out };
}
const sh = (cmd: string) => ["/bin/sh", "-c", cmd];

describe.skipIf(!isRoot)("chroot runner (root, namespaces)", () => {
  it("is what auto picks as root and provides everything here", async () => {
    expect(runner.name).toBe("chroot");
    expect((await selectRunner("auto")).name).toBe("chroot");
    expect(caps.namespaces).toBe(true);
    expect(runner.limitations).toEqual([]);
  });

  it("propagates the exit code", async () => {
    const { s } = await spec(rootfs, sh("exit 42"));
    expect(await runner.run(s)).toEqual({ exitCode: 42 });
    const { s: t } = await spec(rootfs, ["/bin/no-such-program"]);
    expect((await runner.run(t)).exitCode).toBe(127);
  });

  it("gives the command exactly the environment asked for (exec form, no shell)", async () => {
    const { s, out } = await spec(rootfs, ["/bin/env"], {
      env: ["PATH=/bin", "A=1", "WITH SPACE=x y", "EMPTY=", "weird.name=ok", "HOME=/root"],
    });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout.sort()).toEqual([
      "A=1",
      "EMPTY=",
      "HOME=/root",
      "PATH=/bin",
      "WITH SPACE=x y",
      "weird.name=ok",
    ]);
  });

  it("looks argv[0] up through PATH inside the root", async () => {
    const { s, out } = await spec(rootfs, ["busybox", "echo", "found"]);
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["found"]);
  });

  it("shell form expands, exec form does not", async () => {
    const { s, out } = await spec(rootfs, ["/bin/echo", "$HOME"]);
    await runner.run(s);
    const { s: t, out: o2 } = await spec(rootfs, sh("echo $HOME"));
    await runner.run(t);
    expect([out.stdout, o2.stdout]).toEqual([["$HOME"], ["/root"]]);
  });

  it("creates a missing working directory owned by the user, through symlinks inside the root", async () => {
    await symlink("/home/user", join(rootfs, "homelink"));
    const { s, out } = await spec(rootfs, sh("pwd; touch here"), { cwd: "/homelink/a/b", userSpec: "user" });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["/home/user/a/b"]); // getcwd() is physical, as under runc
    for (const p of ["home/user/a", "home/user/a/b", "home/user/a/b/here"]) {
      const st = await stat(join(rootfs, p));
      expect([p, st.uid, st.gid]).toEqual([p, 1000, 1000]);
    }
    expect((await stat(join(rootfs, "home/user/a"))).mode & 0o7777).toBe(0o755);
  });

  it("a working directory symlinked out of the root stays inside it", async () => {
    await symlink("../../../../../../../tmp", join(rootfs, "escape"));
    const { s, out } = await spec(rootfs, sh("pwd; touch marker"), { cwd: "/escape" });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["/tmp"]);
    expect((await lstat(join(rootfs, "tmp", "marker"))).isFile()).toBe(true);
  });

  it("runs as uid 1000 with its groups: files it writes are owned by 1000:1000", async () => {
    const { s, out } = await spec(rootfs, sh("id -u; id -g; id -G; touch /tmp/by-user"), {
      userSpec: "user",
    });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["1000", "1000", "1000 50"]);
    const st = await stat(join(rootfs, "tmp", "by-user"));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  it("USER uid:gid without passwd entries", async () => {
    const { s, out } = await spec(rootfs, sh("id -u; id -g; id -G"), { userSpec: "4242:4343" });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["4242", "4343", "4343"]);
  });

  it("mounts /proc, /sys and a minimal /dev only for the command; nothing is left in the root", async () => {
    const rootBefore = (await stat(rootfs, { bigint: true })).mtimeNs;
    const etcBefore = (await stat(join(rootfs, "etc"), { bigint: true })).mtimeNs;
    const { s, out } = await spec(
      rootfs,
      sh(
        "cat /proc/self/mountinfo | cut -d' ' -f5 | sort; echo ---; ls /dev; echo ---; " +
          "ls -d /sys/kernel; echo $$; cat /etc/resolv.conf; echo x > /dev/null && echo null-ok; " +
          "test -c /dev/urandom && echo urandom-ok; echo shm > /dev/shm/f && cat /dev/shm/f",
      ),
    );
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    const [mounts, dev, rest] = out.stdout.join("\n").split("\n---\n");
    expect(mounts!.split("\n")).toEqual(
      expect.arrayContaining([
        "/dev",
        "/dev/null",
        "/dev/pts",
        "/dev/shm",
        "/etc/resolv.conf",
        "/etc/hosts",
        "/proc",
        "/sys",
      ]),
    );
    expect(dev!.split("\n")).toEqual(
      expect.arrayContaining([
        "fd",
        "full",
        "null",
        "ptmx",
        "pts",
        "random",
        "shm",
        "stdin",
        "tty",
        "urandom",
        "zero",
      ]),
    );
    const hostResolv = (await readFile("/etc/resolv.conf", "utf8")).trimEnd().split("\n");
    // A new PID namespace: the command is a child of the namespace's init (the setup shell).
    const [sysKernel, pid, ...tail] = rest!.split("\n");
    expect([sysKernel, Number(pid) > 1 && Number(pid) < 10, ...tail]).toEqual([
      "/sys/kernel",
      true,
      ...hostResolv,
      "null-ok",
      "urandom-ok",
      "shm",
    ]);
    // The busybox image has none of these: the mount points were created and removed again.
    for (const p of ["proc", "sys", "dev", "etc/resolv.conf", "etc/hosts"]) {
      await expect(lstat(join(rootfs, p)), p).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect((await stat(rootfs, { bigint: true })).mtimeNs).toBe(rootBefore);
    expect((await stat(join(rootfs, "etc"), { bigint: true })).mtimeNs).toBe(etcBefore);
  });

  it("keeps a directory mtime the command itself changed", async () => {
    const { s } = await spec(rootfs, sh("sleep 0.05; touch /new-file"));
    const before = (await stat(rootfs, { bigint: true })).mtimeNs;
    await runner.run(s);
    const after = (await stat(rootfs, { bigint: true })).mtimeNs;
    expect(after).not.toBe(before);
    expect((await lstat(join(rootfs, "new-file"))).isFile()).toBe(true);
    await expect(lstat(join(rootfs, "proc"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("mounts over the image's own /etc/hosts without changing it", async () => {
    await writeFile(join(rootfs, "etc", "hosts"), "10.0.0.1 image-host\n");
    const { s, out } = await spec(
      rootfs,
      sh("cat /etc/hosts; echo; mount 2>/dev/null | grep -c ' /etc/hosts '"),
    );
    await runner.run(s);
    expect(out.stdout.join("\n")).toContain((await readFile("/etc/hosts", "utf8")).trim().split("\n")[0]);
    expect(await readFile(join(rootfs, "etc", "hosts"), "utf8")).toBe("10.0.0.1 image-host\n");
  });

  it("abort kills the whole tree promptly and leaves no process or mount", async () => {
    const ac = new AbortController();
    const { s } = await spec(rootfs, sh("sleep 30 & sleep 31 & echo started; wait"), {
      signal: ac.signal,
      onOutput: (_st, line) => {
        if (line === "started") ac.abort(new Error("user pressed ^C"));
      },
    });
    const t0 = Date.now();
    await expect(runner.run(s)).rejects.toMatchObject({ code: "MOLT_ABORTED" });
    expect(Date.now() - t0).toBeLessThan(20_000); // sanity bound, not a timing assertion
    expect(await processesIn(rootfs)).toEqual([]);
    expect(await mountsUnder(rootfs)).toEqual([]);
    await expect(lstat(join(rootfs, "proc"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("an onOutput listener that throws stops the run with its error", async () => {
    const { s } = await spec(rootfs, sh("echo boom; sleep 30"), {
      onOutput: () => {
        throw new Error("listener failed");
      },
    });
    await expect(runner.run(s)).rejects.toThrow("listener failed");
    expect(await processesIn(rootfs)).toEqual([]);
  });

  it("makes each run's scratch dir (fstab, /dev skeleton) in runScratchParent() and removes it after", async () => {
    const scratch = runScratchParent();
    const ours = async () => {
      const out: string[] = [];
      for (const d of await readdir(scratch)) {
        if (!d.startsWith("molt-run-")) continue;
        const owner = await readFile(join(scratch, d, ".molt-owner"), "latin1").catch(() => "");
        if (owner.split(" ")[0] === String(process.pid)) out.push(d);
      }
      return out;
    };
    let during: string[] = [];
    const { s, out } = await spec(
      rootfs,
      sh("ls -l /dev/null; ls -l /dev/fd; ls -d /dev/pts /dev/shm; echo x > /dev/made; echo up; sleep 0.2"),
      {
        onOutput: (stream, line) => {
          out[stream].push(line);
          if (line === "up") void ours().then((d) => (during = d));
        },
      },
    );
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(during).toHaveLength(1);
    expect(await ours()).toEqual([]);
    // The command saw the skeleton: the host's null device bound in, the fd link, pts and shm.
    expect(out.stdout[0]).toMatch(/^crw-rw-rw-\s+1 .* 1,\s+3 .* \/dev\/null$/);
    expect(out.stdout[1]).toMatch(/\/dev\/fd -> \/proc\/self\/fd$/);
    expect(out.stdout.slice(2, 4)).toEqual(["/dev/pts", "/dev/shm"]);
    // What it wrote into /dev went with the scratch dir, not into the root or the next run.
    await expect(lstat(join(rootfs, "dev", "made"))).rejects.toMatchObject({ code: "ENOENT" });
    const { s: t, out: o2 } = await spec(rootfs, sh("ls /dev/made || echo gone"));
    await runner.run(t);
    expect(o2.stdout).toEqual(["gone"]);
  });

  it("if molt itself is killed, the command's processes die with it", async () => {
    // A separate node process starts a run and is SIGKILLed mid-command (no chance to clean up).
    const dist = join(import.meta.dirname, "..", "dist", "runner", "index.js");
    const script = `
      const { selectRunner } = await import(${JSON.stringify(dist)});
      const r = await selectRunner("chroot");
      r.run({ rootfs: ${JSON.stringify(rootfs)}, argv: ["/bin/sh", "-c", "sleep 30 & sleep 31 & echo started; wait"],
        env: ["PATH=/bin"], cwd: "/", user: { uid: 0, gid: 0, groups: [], home: "/" },
        onOutput: (s, l) => l === "started" && console.log("started") });`;
    const scratch = runScratchParent();
    const before = new Set(await readdir(scratch));
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (d: Buffer) => d.toString().includes("started") && resolve()),
    );
    expect((await processesIn(rootfs)).length).toBeGreaterThan(0);
    child.kill("SIGKILL");
    let left = await processesIn(rootfs);
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await processesIn(rootfs);
    }
    expect(left).toEqual([]);
    expect(await mountsUnder(rootfs)).toEqual([]);
    // The killed process could not remove its per-run scratch dir (the next build's reclaim
    // would, see work-dir.ts): it is there, owned by the killed pid; remove it here.
    const left2: string[] = [];
    for (const d of await readdir(scratch)) {
      if (!d.startsWith("molt-run-") || before.has(d)) continue;
      const owner = await readFile(join(scratch, d, ".molt-owner"), "latin1").catch(() => "");
      if (owner.split(" ")[0] !== String(child.pid)) continue;
      left2.push(d);
      await rm(join(scratch, d), { recursive: true, force: true });
    }
    expect(left2).toHaveLength(1);
  });

  it("works in a root whose path has spaces and a backslash", async () => {
    const odd = join(rootfs, "..", "a b\\c");
    await rename(rootfs, odd);
    try {
      const { s, out } = await spec(odd, sh("ls -d /proc/self /dev/null /sys/kernel; pwd"), { cwd: "/x y" });
      expect(await runner.run(s)).toEqual({ exitCode: 0 });
      expect(out.stdout).toEqual(["/dev/null", "/proc/self", "/sys/kernel", "/x y"]);
      expect(await mountsUnder(odd)).toEqual([]);
      await expect(lstat(join(odd, "proc"))).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await rename(odd, rootfs);
    }
  });

  it("an already aborted signal never starts the command", async () => {
    const ac = new AbortController();
    ac.abort();
    const { s } = await spec(rootfs, sh("touch /should-not-exist"), { signal: ac.signal });
    await expect(runner.run(s)).rejects.toMatchObject({ code: "MOLT_ABORTED" });
    await expect(lstat(join(rootfs, "should-not-exist"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("timeoutMs kills the command and rejects with MOLT_RUN_TIMEOUT", async () => {
    const { s } = await spec(rootfs, sh("sleep 30"), { timeoutMs: 300 });
    await expect(runner.run(s)).rejects.toMatchObject({ code: "MOLT_RUN_TIMEOUT", timeoutMs: 300 });
    expect(await processesIn(rootfs)).toEqual([]);
  });

  it("network none leaves only lo", async () => {
    const { s, out } = await spec(rootfs, sh("ls /sys/class/net; cat /sys/class/net/lo/operstate"), {
      network: "none",
    });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout[0]).toBe("lo");
    expect(out.stdout.length).toBe(2);
    const { s: t, out: o2 } = await spec(rootfs, sh("ls /sys/class/net | wc -l"));
    await runner.run(t);
    expect(Number(o2.stdout[0])).toBeGreaterThan(1); // the host's interfaces: lo plus at least one
  });

  it("runs a #! heredoc as a script file that exists only during the run", async () => {
    const cmd = heredocRunArgv({
      form: "shell",
      command: "<<EOF",
      heredocs: [{ name: "EOF", content: "#!/bin/sh -e\necho script $0\nls -l $0 | cut -c1-10\n" }],
    });
    const { s, out } = await spec(rootfs, cmd.argv, { transientFiles: cmd.transientFiles, userSpec: "user" });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["script /dev/pipes/EOF", "-rwxr-xr-x"]);
    await expect(lstat(join(rootfs, "dev"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("lets the shell do multi-heredoc commands with fd prefixes", async () => {
    const cmd = heredocRunArgv({
      form: "shell",
      command: "<<A cat > /tmp/a && 3<<B cat /dev/fd/3 >> /tmp/a && cat /tmp/a",
      heredocs: [
        { name: "A", content: "first $HOME\n" },
        { name: "B", content: "second\n" },
      ],
    });
    const { s, out } = await spec(rootfs, cmd.argv);
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["first /root", "second"]);
  });

  it("feeds stdin and extra fds", async () => {
    const { s, out } = await spec(rootfs, sh("cat; cat <&4; cat <&3"), {
      stdin: "in\n",
      extraFds: [
        { fd: 3, content: "three\n" },
        { fd: 4, content: "four\n" },
      ],
    });
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout).toEqual(["in", "four", "three"]);
  });

  it("streams output line by line; a 1 MB line arrives whole, in bounded chunks", async () => {
    const chunks: { stream: string; line: string; partial: boolean }[] = [];
    const { s } = await spec(
      rootfs,
      sh("echo first; echo err >&2; head -c 1048576 /dev/zero | tr '\\0' a; echo; printf last-no-newline"),
      { onOutput: (stream, line, partial) => chunks.push({ stream, line, partial: partial ?? false }) },
    );
    expect(await runner.run(s)).toEqual({ exitCode: 0 });
    const stdout = chunks.filter((c) => c.stream === "stdout");
    expect(chunks.filter((c) => c.stream === "stderr").map((c) => c.line)).toEqual(["err"]);
    expect(stdout[0]).toEqual({ stream: "stdout", line: "first", partial: false });
    const big = stdout.slice(1, -1);
    expect(big.every((c) => c.line.length <= MAX_OUTPUT_CHUNK)).toBe(true);
    expect(big.slice(0, -1).every((c) => c.partial)).toBe(true);
    expect(big.at(-1)!.partial).toBe(false);
    expect(big.map((c) => c.line).join("")).toBe("a".repeat(1048576));
    expect(stdout.at(-1)).toEqual({ stream: "stdout", line: "last-no-newline", partial: false });
  });
});

describe.skipIf(!isRoot)("chroot runner without mounts (a plain container, simulated)", () => {
  let plain: Runner;
  beforeAll(() => {
    plain = new ChrootRunner({ ...caps, namespaces: false });
  });

  it("says what it cannot provide", () => {
    expect(plain.limitations.join("\n")).toContain("no /proc");
  });

  it("runs with chroot alone: devices and resolv.conf during the command, nothing left after", async () => {
    await writeFile(join(rootfs, "etc", "resolv.conf"), "nameserver 192.0.2.1\n");
    const before = await stat(join(rootfs, "etc", "resolv.conf"), { bigint: true });
    const rootBefore = (await stat(rootfs, { bigint: true })).mtimeNs;
    const { s, out } = await spec(
      rootfs,
      sh(
        "id -G; test -d /proc/self && echo proc || echo no-proc; echo x > /dev/null && test -c /dev/null && echo null-ok; cat /etc/resolv.conf",
      ),
      { userSpec: "user", cwd: "/work" },
    );
    expect(await plain.run(s)).toEqual({ exitCode: 0 });
    expect(out.stdout.slice(0, 3)).toEqual(["1000 50", "no-proc", "null-ok"]);
    expect(out.stdout.slice(3)).toEqual((await readFile("/etc/resolv.conf", "utf8")).trimEnd().split("\n"));
    await expect(lstat(join(rootfs, "dev"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(join(rootfs, "etc", "resolv.conf"), "utf8")).toBe("nameserver 192.0.2.1\n");
    const after = await stat(join(rootfs, "etc", "resolv.conf"), { bigint: true });
    expect(after.mtimeNs).toBe(before.mtimeNs);
    // /work was created (a real change, kept), so the root's mtime moved — to before the run's cleanup.
    expect((await stat(join(rootfs, "work"))).uid).toBe(1000);
    expect((await stat(rootfs, { bigint: true })).mtimeNs).not.toBe(rootBefore);
  });

  it("refuses --network=none rather than silently sharing the host network", async () => {
    const { s } = await spec(rootfs, sh("true"), { network: "none" });
    await expect(plain.run(s)).rejects.toMatchObject({ code: "MOLT_RUN_UNSUPPORTED" });
  });

  it("abort kills the process group", async () => {
    const ac = new AbortController();
    const { s } = await spec(rootfs, sh("sleep 30 & echo started; wait"), {
      signal: ac.signal,
      onOutput: (_st, line) => line === "started" && ac.abort(),
    });
    await expect(plain.run(s)).rejects.toMatchObject({ code: "MOLT_ABORTED" });
    expect(await processesIn(rootfs)).toEqual([]);
  });
});

describe("runner selection", () => {
  it("in-place refuses without the explicit opt-in", async () => {
    await expect(selectRunner("in-place")).rejects.toMatchObject({ code: "MOLT_IN_PLACE_REFUSED" });
  });
  it.skipIf(!isRoot)("in-place with the opt-in runs in / only", async () => {
    const r = await selectRunner("in-place", { allowInPlace: true });
    expect(r.name).toBe("in-place");
    const user = await resolveUser("/", "0");
    await expect(r.run({ rootfs, argv: ["true"], env: [], cwd: "/", user })).rejects.toMatchObject({
      code: "MOLT_RUNNER_SETUP",
    });
    const out: string[] = [];
    const o = await r.run({
      rootfs: "/",
      argv: ["/bin/sh", "-c", "echo $X; pwd"],
      env: ["X=in-place", "PATH=/usr/bin:/bin"],
      cwd: "/tmp",
      user,
      onOutput: (_s, l) => out.push(l),
    });
    expect([o.exitCode, out]).toEqual([0, ["in-place", "/tmp"]]);
    const cmd = heredocRunArgv({
      form: "shell",
      command: "<<MOLTINPLACE",
      heredocs: [{ name: "MOLTINPLACE", content: "#!/bin/sh\necho in-place script $0\n" }],
    });
    const out2: string[] = [];
    const o2 = await r.run({
      rootfs: "/",
      argv: cmd.argv,
      transientFiles: cmd.transientFiles,
      env: ["PATH=/usr/bin:/bin"],
      cwd: "/",
      user,
      onOutput: (_s, l) => out2.push(l),
    });
    expect([o2.exitCode, out2]).toEqual([0, ["in-place script /dev/pipes/MOLTINPLACE"]]);
    await expect(lstat("/dev/pipes/MOLTINPLACE")).rejects.toMatchObject({ code: "ENOENT" });
  });
});
