import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MOLT_BIN, molt } from "../harness/molt-cli.js";

// Issue 15 item 2: .dockerignore patterns that take exponential time in a backtracking regular
// expression (`**/**/…/b`, `*a*a*a…b`) froze a build at 100% CPU and SIGTERM did not stop it.

let dir: string;
let ctx: string;

const hostile = [
  `${"**/".repeat(14)}b`,
  `${"*a".repeat(24)}b`,
  `${"a*".repeat(30)}z/**/${"*/".repeat(12)}q`,
  ...Array.from({ length: 20 }, (_, i) => `**/*q${i}*r*s*t*`),
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-ignore-hang-"));
  ctx = join(dir, "ctx");
  // 150 directories of 60 files, names full of "a" (what `*a*a…` backtracks on), some deep.
  for (let d = 0; d < 150; d++) {
    const sub = join(ctx, `${"a".repeat(12)}${d}`, "aaaa", "aaaa");
    await mkdir(sub, { recursive: true });
    await Promise.all(
      Array.from({ length: 60 }, (_, f) => writeFile(join(sub, `${"a".repeat(30)}${f}.txt`), `${d}/${f}\n`)),
    );
  }
  await writeFile(join(ctx, ".dockerignore"), `${hostile.join("\n")}\n`);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /ctx/\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hostile .dockerignore patterns", () => {
  test("a build with them finishes (every file kept: no pattern matches)", async () => {
    const tmp = join(dir, "tmp-ok");
    await mkdir(tmp);
    const started = Date.now();
    const r = await molt(["build", "-c", ctx, "--no-push", "--tar-path", join(dir, "out.tar")], {
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/layer sha256:\w+ .*\b9\d\d\d entries/);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await readdir(tmp)).toEqual([]);
  }, 90_000);

  test("SIGTERM while the context is scanned stops the build promptly and leaves no temp dir", async () => {
    const tmp = join(dir, "tmp-term");
    await mkdir(tmp);
    const child = spawn(
      process.execPath,
      [MOLT_BIN, "build", "-c", ctx, "--no-push", "--tar-path", join(dir, "term.tar")],
      { env: { ...process.env, TMPDIR: tmp }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    let sentAt = 0;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      // The COPY step walks the context (matching every path against every pattern).
      if (!sentAt && stderr.includes("COPY . /ctx/")) {
        sentAt = Date.now();
        setTimeout(() => child.kill("SIGTERM"), 50);
      }
    });
    const { code } = await exited;
    expect(sentAt, stderr).toBeGreaterThan(0);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/build aborted \[MOLT_ABORTED\]/);
    expect(await readdir(tmp)).toEqual([]);
  }, 90_000);
});
