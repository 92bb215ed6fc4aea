import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../harness/exec.js";
import { MOLT_BIN } from "../harness/molt-cli.js";

// Issue 15 item 7: `molt build … 2>&1 >out | head -1` exited 1 and left its temp dir. A reader
// that goes away must only stop the output: the build finishes and cleans up.

let dir: string;
let ctx: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-closed-output-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "a"), Buffer.alloc(2 * 1024 * 1024, 3));
  // Several steps, so that progress keeps coming after the reader has gone.
  await writeFile(
    join(ctx, "Dockerfile"),
    "FROM scratch\nCOPY a /a\nLABEL x=1\nLABEL y=2\nCOPY a /b\nENV Z=3\nCOPY a /c\n",
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a shell pipeline with molt in it; returns molt's own exit status (bash PIPESTATUS). */
async function pipeline(name: string, shape: (molt: string) => string) {
  const tmp = join(dir, `tmp-${name}`);
  const layout = join(dir, `layout-${name}`);
  await mkdir(tmp);
  const molt = `'${process.execPath}' '${MOLT_BIN}' build -c '${ctx}' --no-push --oci-layout-path '${layout}'`;
  const r = await run("bash", ["-c", `${shape(molt)}; echo "molt-exit=\${PIPESTATUS[0]}" >&2`], {
    env: { ...process.env, TMPDIR: tmp },
    allowFail: true,
  });
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: unknown[] };
  return { r, tmp, index };
}

describe("a closed output stream does not fail the build", () => {
  test("stderr closed after its first line: exit 0, image written, temp dir removed", async () => {
    const out = join(dir, "digest-out");
    const { r, tmp, index } = await pipeline("stderr", (m) => `${m} 2>&1 >'${out}' | head -1`);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("molt-exit=0");
    expect(await readFile(out, "utf8")).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(index.manifests).toHaveLength(1);
    expect(await readdir(tmp)).toEqual([]);
  });

  test("stdout closed at once: exit 0, image written, temp dir removed", async () => {
    const { r, tmp, index } = await pipeline("stdout", (m) => `${m} 2>/dev/null | true`);
    expect(r.stderr).toContain("molt-exit=0");
    expect(index.manifests).toHaveLength(1);
    expect(await readdir(tmp)).toEqual([]);
  });
});
