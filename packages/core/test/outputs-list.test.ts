import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../../../test/harness/exec.js";
import { build, InvalidBuildOptionsError } from "../src/index.js";
import { withOutputs } from "../src/outputs/list.js";

const registry = inject("registry");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-core-outputs-"));
  await writeFile(join(dir, "f"), "x\n");
  await writeFile(join(dir, "Dockerfile"), "FROM scratch\nCOPY f /f\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("outputs as a list", () => {
  test("folds into destinations, ociLayoutPath and tarPath", () => {
    expect(
      withOutputs({
        context: ".",
        destinations: ["a.example/x:1"],
        outputs: [
          { type: "registry", ref: "b.example/y:2" },
          { type: "oci-layout", path: "out/l" },
          { type: "docker-archive", path: "out/i.tar" },
        ],
      }),
    ).toMatchObject({
      destinations: ["a.example/x:1", "b.example/y:2"],
      ociLayoutPath: "out/l",
      tarPath: "out/i.tar",
    });
    expect(() =>
      withOutputs({
        context: ".",
        outputs: [
          { type: "oci-layout", path: "a" },
          { type: "oci-layout", path: "b" },
        ],
      }),
    ).toThrow(InvalidBuildOptionsError);
  });

  test("build() writes every output of the list", async () => {
    const layout = join(dir, "layout");
    const archive = join(dir, "image.tar");
    const ref = `${registry}/core/outputs-list:1`;
    const result = await build({
      context: dir,
      registries: { "*": { push: { insecure: true } } },
      outputs: [
        { type: "registry", ref },
        { type: "oci-layout", path: layout },
        { type: "docker-archive", path: archive },
      ],
    });
    const pushed = JSON.parse(
      (await run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`])).stdout,
    );
    expect(pushed.Digest).toBe(result.digest);
    const fromLayout = JSON.parse((await run("skopeo", ["inspect", "--raw", `oci:${layout}:1`])).stdout);
    expect(fromLayout.layers).toHaveLength(1);
    const fromArchive = JSON.parse((await run("skopeo", ["inspect", `docker-archive:${archive}`])).stdout);
    expect(fromArchive.Layers).toHaveLength(1);
    expect((await readFile(join(layout, "index.json"), "utf8")).length).toBeGreaterThan(0);
  });
});
