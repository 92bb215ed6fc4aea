import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { createSnapshotter, extract } from "../src/index.js";
import { exec as run } from "./exec.js";

const tmp = await mkdtemp(join(tmpdir(), "molt-snap-smoke-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

test("extract + both modes", async () => {
  const src = join(tmp, "src");
  await mkdir(join(src, "etc"), { recursive: true });
  await writeFile(join(src, "etc", "a"), "hello");
  await run("tar", ["-czf", join(tmp, "l1.tgz"), "-C", src, "."]);
  for (const mode of ["walk", "overlay"] as const) {
    const root = join(tmp, `root-${mode}`);
    const baseline = await extract([{ open: () => createReadStream(join(tmp, "l1.tgz")) }], root);
    expect(await readFile(join(root, "etc", "a"), "utf8")).toBe("hello");
    const snap = await createSnapshotter(root, { mode, baseline });
    const step = await snap.begin();
    await writeFile(join(step.rootfs, "etc", "b"), "new");
    const changes = await step.finish();
    console.log(
      mode,
      JSON.stringify(changes, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
    );
    expect(
      changes.map((c) => (c.kind === "add" ? `${c.kind} ${c.entry.path}` : `${c.kind} ${c.path}`)),
    ).toEqual(["add etc", "add etc/b"]);
    await snap.close();
  }
});
