import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { debianLayer } from "../../../test/harness/debian-base.js";
import { requireBinary } from "../../../test/harness/registry.js";
import { createSnapshotter, extract, indexLayer, RootIndex } from "../src/index.js";
import { exec } from "./exec.js";
import { indexDifferences } from "./index-compare.js";
import { describeTree, diffTrees, expectBaselineMatchesDisk } from "./tree.js";

const tmp = await mkdtemp(join(tmpdir(), "molt-snap-debian-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

// The one test on a real distribution tree (debootstrap'd once, cached under .cache/).
test("the Debian minbase layer extracts to the same tree as GNU tar, and a no-op step reports nothing", async () => {
  requireBinary("debootstrap", "Debian package debootstrap");
  const layer = await debianLayer();
  const ours = join(tmp, "ours");
  const baseline = await extract([{ open: () => createReadStream(layer) }], ours);
  const ref = join(tmp, "gnu");
  await mkdir(ref);
  await exec("tar", ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xzpf", layer, "-C", ref]);
  expect(
    diffTrees(await describeTree(ours, { mtime: true }), await describeTree(ref, { mtime: true })),
  ).toEqual([]);
  await expectBaselineMatchesDisk(baseline, ours);
  // The layer index (read once, nothing written) says the same of every path, directory times too.
  const index = new RootIndex();
  index.apply(
    await indexLayer({ open: () => createReadStream(layer) }, { keepContent: (p) => p === "etc/passwd" }),
  );
  expect(indexDifferences(baseline, index, true)).toEqual([]);
  expect(index.get("etc/passwd")?.content?.toString()).toMatch(/^root:x:0:0:/);
  for (const mode of ["walk", "overlay"] as const) {
    const snap = await createSnapshotter(ours, { mode, baseline, workDir: join(tmp, `w-${mode}`) });
    const step = await snap.begin();
    expect(await step.finish()).toEqual([]);
    await snap.close();
  }
}, 300_000);
