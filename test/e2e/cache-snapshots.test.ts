import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { freshBuild } from "../harness/cache-build.js";
import { MOLT_BIN } from "../harness/molt-cli.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

// The snapshot store of --cache-dir (packages/core/src/cache/snapshot-store.ts): a rebuild whose
// COPY changed starts the next RUN from the last build's extracted root, writing only what
// changed, and its image is byte-for-byte the image of a build without any cache. Needs root
// (the `molt` command's private mount namespace, overlayfs).

const root = process.geteuid?.() === 0;
let reg: RunningRegistry;
let dir: string;
let n = 0;

beforeAll(async () => {
  if (!root) return;
  reg = await startRegistry();
  await pushBusybox(reg.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-snapshots-"));
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const BASE = () => `${reg.host}/test/busybox:latest`;

async function writeFiles(ctx: string, files: Record<string, string>): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(ctx, p, ".."), { recursive: true });
    await writeFile(join(ctx, p), content);
  }
}

/** One `molt build` in a fresh process and TMPDIR; its digest and its `molt:stage` debug lines. */
const build = (ctx: string, dest: string, args: string[], tmpPrefix = "tmp-") =>
  freshBuild(dir, reg.host, ctx, dest, args, "molt:stage,molt:cache:snapshot", tmpPrefix);

// What the first RUN sees of the copied tree: every path's size, mtime, mode and owner, files'
// link counts, and every file's content (the layer would hide a wrong mtime under --reproducible).
// Not a directory's link count: overlayfs (BuildKit's snapshots too) shows 1 for a merged one.
const STAT =
  "RUN (find /files -type d -exec stat -c '%n %s %Y %a %u:%g' {} + | sort && find /files ! -type d -exec stat -c '%n %s %Y %a %u:%g %h' {} + | sort && find /files -type f | sort | xargs md5sum) > /stat";

// What a RUN sees of /files and /bin (not mtimes: a RUN's own writes carry the clock's time).
const SEEN =
  "RUN (find /files /bin -type d -exec stat -c '%n %s %a %u:%g' {} + | sort && find /files /bin ! -type d -exec stat -c '%n %s %a %u:%g %h %N' {} + | sort && find /files -type f | sort | xargs md5sum) > /seen";

const DOCKERFILE = () =>
  `FROM ${BASE()}\nCOPY files/ /files/\n${STAT}\nRUN echo built > /built && echo more >> /files/a/f1 && rm /files/a/f7 && mkdir -p /files/b/new\nCOPY extra /extra\nRUN cat /extra >> /built && ls /files/a > /listing\n`;

function filesOf(count: number): Record<string, string> {
  const out: Record<string, string> = { extra: "extra\n" };
  for (let k = 0; k < count; k++) out[`files/${k % 2 ? "a" : "b"}/f${k}`] = `file ${k}\n`;
  return out;
}

describe.skipIf(!root)("--cache-dir snapshot store", () => {
  test("one file changed, one added, one removed in a COPY: only those are written on the stored root, and the image equals a build without cache", async () => {
    const ctx = join(dir, `ctx-${n++}`);
    await writeFiles(ctx, { Dockerfile: DOCKERFILE(), ...filesOf(60) });
    const cacheDir = join(dir, "cache-1");
    const cold = await build(ctx, "snap/app:cold", ["--cache-dir", cacheDir]);
    expect(cold.debug).toContain("from the snapshot store (new snapshot)");
    const store = join(cacheDir, "molt-snapshots");
    const stored = (await readdir(store)).filter((d) => !d.startsWith("."));
    expect(stored).toHaveLength(1);
    expect(await readdir(store)).toEqual(stored);

    // Only a file's content changed: the COPY's paths are the stored layer's, matched whole.
    await writeFile(join(ctx, "files/a/f3"), "changed 3\n");
    const content = await build(ctx, "snap/app:content", ["--cache-dir", cacheDir]);
    expect(content.debug).toContain("snapshot delta: 1 entries written, 0 removed");
    expect(content.digest).toBe((await build(ctx, "snap/app:content-reference", [])).digest);

    await writeFile(join(ctx, "files/a/added"), "added\n");
    await rm(join(ctx, "files/a/f5"));
    const warm = await build(ctx, "snap/app:warm", ["--cache-dir", cacheDir]);
    expect(warm.debug).toContain("from the snapshot store (delta)");
    // f3 and the new file; the directories above them are set again, f5 is a whiteout.
    expect(warm.debug).toContain("snapshot delta: 2 entries written, 1 removed");
    // From the COPY's own entry digests, not by reading back the layer it had just written.
    expect(warm.debug).toContain("snapshot delta planned from the writer's entry digests");
    expect(warm.debug).not.toContain("snapshot delta planned from the layer's bytes");
    const reference = await build(ctx, "snap/app:reference", []);
    expect(reference.debug).not.toContain("snapshot store");
    expect(warm.digest).toBe(reference.digest);

    // The stored root is still the first build's: the RUNs and the delta wrote only to the overlay.
    const snap = join(store, stored[0]!, "root");
    expect(await readFile(join(snap, "files/a/f1"), "utf8")).toBe("file 1\n");
    expect(await readFile(join(snap, "files/a/f3"), "utf8")).toBe("file 3\n");
    expect(existsSync(join(snap, "files/a/f7"))).toBe(true);
    expect(existsSync(join(snap, "files/a/f5"))).toBe(true);
    expect(existsSync(join(snap, "files/a/added"))).toBe(false);
    expect(existsSync(join(snap, "built"))).toBe(false);
    expect(existsSync(join(snap, "extra"))).toBe(false);
    expect(await readdir(store)).toEqual(stored);

    // A third build from the same store, more changed: still equal to a build without cache.
    await writeFile(join(ctx, "files/b/f0"), "changed 0\n");
    const again = await build(ctx, "snap/app:again", ["--cache-dir", cacheDir]);
    expect(again.debug).toContain("snapshot delta: 3 entries written, 1 removed");
    expect(again.digest).toBe((await build(ctx, "snap/app:reference2", [])).digest);
  }, 300_000);

  test("a RUN on the stored root (adds, modifies, chmods, chowns, deletes lower files, deletes and replaces directories, hard links) is diffed from its upper alone, and its layers equal a build without cache", async () => {
    const ctx = join(dir, `ctx-${n++}`);
    const files: Record<string, string> = { extra: "extra\n" };
    for (const d of ["a", "b", "c", "d", "e", "g"])
      for (let k = 0; k < 12; k++) files[`files/${d}/f${k}`] = `${d} ${k}\n`;
    const run1 = [
      "echo new > /files/a/added",
      "echo more >> /files/a/f1",
      "chmod 600 /files/a/f3",
      "chmod 700 /files/b",
      "chown 5:6 /files/a/f4",
      "touch -d @1000000 /files/a/f6",
      "rm /files/a/f5 /bin/ls",
      "rm -r /files/c",
      "rm -r /files/d && echo now-a-file > /files/d",
      "rm -r /files/e && mkdir /files/e && echo only > /files/e/only",
      "ln /files/a/f7 /files/a/f7.link && ln /files/a/f9 /files/hl9",
      "mv /files/g /files/g2",
      "mkdir -p /files/new/deep && echo x > /files/new/deep/y && ln -s ../a/f1 /files/new/sym",
    ].join(" && ");
    const run2 = [
      "cat /extra >> /files/a/f7",
      "rm /files/hl9 /files/a/f8",
      "echo z > /files/d",
      "rm -r /files/new",
      "chmod 640 /files/a/f7.link",
    ].join(" && ");
    await writeFiles(ctx, {
      ...files,
      // Last, what the RUNs see (not the mtimes the RUNs themselves set: those are the clock's).
      Dockerfile: `FROM ${BASE()}\nCOPY files/ /files/\nRUN set -e && ${run1}\nCOPY extra /extra\nRUN set -e && ${run2}\n${SEEN}\n`,
    });
    const cacheDir = join(dir, "cache-3");
    const cold = await build(ctx, "snap/ops:cold", ["--cache-dir", cacheDir]);
    expect(cold.debug).toContain("from the snapshot store (new snapshot)");
    expect(cold.digest).toBe((await build(ctx, "snap/ops:reference0", [])).digest);
    // Changed: a file the RUN chmods, one in the directory it deletes, one in the directory it
    // replaces by an empty one, and one it hard-links (each only in the COPY delta).
    const rounds: Array<Record<string, string>> = [
      { "files/a/f3": "changed 3\n", "files/c/f1": "changed c1\n" },
      { "files/e/f2": "changed e2\n", "files/a/f7": "changed 7\n", "files/a/f9": "changed 9\n" },
    ];
    for (const [i, changes] of rounds.entries()) {
      await writeFiles(ctx, changes);
      const warm = await build(ctx, `snap/ops:warm${i}`, ["--cache-dir", cacheDir]);
      expect(warm.debug).toContain("from the snapshot store (delta)");
      expect(warm.debug).toContain("snapshot delta planned from the writer's entry digests");
      // The stored root's index is read back, not rebuilt by walking the root.
      expect(warm.debug).toContain("root index read");
      expect(warm.debug).not.toContain("scanning the root");
      expect(warm.digest).toBe((await build(ctx, `snap/ops:reference${i + 1}`, [])).digest);
    }
  }, 300_000);

  test("where the stage overlay cannot mount, the root just extracted into a new snapshot serves the stage in place and is not stored", async () => {
    const ctx = join(dir, `ctx-${n++}`);
    await writeFiles(ctx, { Dockerfile: DOCKERFILE(), ...filesOf(20) });
    const cacheDir = join(dir, "cache-4");
    // overlayfs mount options cannot name a path with a comma: the build's temp dir has one.
    const plain = await build(ctx, "snap/plain:1", ["--cache-dir", cacheDir], "tmp,comma-");
    expect(plain.debug).toContain("the stage overlay did not mount");
    expect(plain.debug).not.toContain("from the snapshot store");
    expect(await readdir(join(cacheDir, "molt-snapshots"))).toEqual([]);
    expect(plain.digest).toBe((await build(ctx, "snap/plain:reference", [])).digest);
  }, 300_000);

  test("a build killed with SIGKILL while its new snapshot is half made leaves nothing a later build uses", async () => {
    const ctx = join(dir, `ctx-${n++}`);
    await writeFiles(ctx, {
      Dockerfile: `FROM ${BASE()}\nCOPY files/ /files/\nARG S=0\nRUN sleep $S && echo built > /built\n`,
      ...filesOf(20),
    });
    const cacheDir = join(dir, "cache-2");
    const store = join(cacheDir, "molt-snapshots");
    const tmp = await mkdtemp(join(dir, "tmp-"));
    const child = spawn(
      process.execPath,
      [
        MOLT_BIN,
        "build",
        "-c",
        ctx,
        "--no-push",
        "--insecure-pull",
        "--cache-dir",
        cacheDir,
        "--reproducible",
        "--build-arg",
        "S=60",
      ],
      { env: { ...process.env, TMPDIR: tmp }, stdio: "ignore" },
    );
    const exited = new Promise((r) => child.on("exit", r));
    let half: string | undefined;
    for (let i = 0; i < 600 && !half; i++) {
      await new Promise((r) => setTimeout(r, 100));
      half = existsSync(store) ? (await readdir(store)).find((d) => d.startsWith(".new-")) : undefined;
    }
    expect(half).toBeDefined();
    child.kill("SIGKILL");
    await exited;
    // The build itself (the wrapper's child in its own namespace) dies with the wrapper.
    const pid = Number(/^\.new-(\d+)-/.exec(half!)![1]);
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await rm(tmp, { recursive: true, force: true });
    expect(await readdir(store)).toContain(half);
    expect((await readdir(store)).filter((d) => !d.startsWith("."))).toEqual([]);

    const next = await build(ctx, "snap/killed:1", ["--cache-dir", cacheDir]);
    expect(next.debug).toContain("from the snapshot store (new snapshot)");
    expect(await readdir(store)).not.toContain(half);
    expect((await readdir(store)).filter((d) => d.startsWith("."))).toEqual([]);
    expect(next.digest).toBe((await build(ctx, "snap/killed:reference", [])).digest);
  }, 300_000);
});
