import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lockFile } from "../src/mounts/lock.js";

const dir = mkdtempSync(join(tmpdir(), "molt-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What another process sees: util-linux flock(1) trying the lock without waiting (0 = got it). */
function othersTry(file: string, mode: "-s" | "-x"): number | null {
  return spawnSync("flock", [mode, "-n", file, "true"]).status;
}

describe.each(["helper", "flock"] as const)("lockFile via %s", (via) => {
  it("an exclusive lock keeps other processes out until released", async () => {
    const f = join(dir, `${via}-x.lock`);
    const l = await lockFile(f, "exclusive", { via });
    expect(l).toBeDefined();
    expect(othersTry(f, "-s")).toBe(1);
    expect(othersTry(f, "-x")).toBe(1);
    await l!.release();
    expect(othersTry(f, "-x")).toBe(0);
  });

  it("a shared lock admits other shared holders, not exclusive ones", async () => {
    const f = join(dir, `${via}-s.lock`);
    const a = await lockFile(f, "shared", { via });
    const b = await lockFile(f, "shared", { via });
    expect(othersTry(f, "-s")).toBe(0);
    expect(othersTry(f, "-x")).toBe(1);
    expect(await lockFile(f, "exclusive", { via, wait: false })).toBeUndefined();
    await a!.release();
    expect(othersTry(f, "-x")).toBe(1);
    await b!.release();
    expect(othersTry(f, "-x")).toBe(0);
  });

  it("an exclusive wait really waits for the holder, and an abort stops it", async () => {
    const f = join(dir, `${via}-w.lock`);
    const first = await lockFile(f, "exclusive", { via });
    let got = false;
    const second = lockFile(f, "exclusive", { via }).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toBe(false);
    const ac = new AbortController();
    const third = lockFile(f, "exclusive", { via, signal: ac.signal });
    ac.abort();
    await expect(third).rejects.toMatchObject({ code: "MOLT_ABORTED" });
    await first!.release();
    const l = await second;
    expect(got).toBe(true);
    expect(othersTry(f, "-x")).toBe(1);
    await l!.release();
    expect(othersTry(f, "-x")).toBe(0);
  });

  it("a lock dies with its process, even by SIGKILL", () => {
    const f = join(dir, `${via}-k.lock`);
    // (the built module: a plain `node` child cannot load TypeScript; CI builds before testing)
    const src = join(import.meta.dirname, "../dist/mounts/lock.js");
    // A child process takes the lock, reports, and is killed with SIGKILL while holding it.
    const script = `const { lockFile } = await import(${JSON.stringify(src)}); await lockFile(${JSON.stringify(f)}, "exclusive", { via: ${JSON.stringify(via)} }); process.stdout.write("held\\n"); setInterval(() => {}, 1000);`;
    const r = spawnSync(
      "bash",
      [
        "-c",
        `node --input-type=module -e "$1" > "$2.out" & pid=$!; for i in $(seq 100); do grep -q held "$2.out" && break; sleep 0.1; done; flock -x -n "$2" true; echo "while held: $?"; kill -9 $pid; wait $pid; sleep 0.2; flock -x -n "$2" true; echo "after kill: $?"`,
        "x",
        script,
        f,
      ],
      { encoding: "utf8" },
    );
    expect(r.stdout).toContain("while held: 1");
    expect(r.stdout).toContain("after kill: 0");
  });
});

describe("setMtime", () => {
  it("puts a sub-second mtime back to the nanosecond without starting touch", async () => {
    const { setMtime } = await import("../src/runner/mount-points.js");
    const { mkdirSync, statSync } = await import("node:fs");
    const d = join(dir, "mtime");
    mkdirSync(d);
    const before = statSync(d, { bigint: true });
    // no touch given: only the perl helper can set this exactly
    await setMtime(d, 1_700_000_000_123_456_789n, undefined);
    const after = statSync(d, { bigint: true });
    expect(after.mtimeNs).toBe(1_700_000_000_123_456_789n);
    expect(after.atimeNs).toBe(before.atimeNs);
  });
});
