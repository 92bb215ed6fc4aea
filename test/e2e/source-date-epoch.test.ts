import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "@molt/core";
import { afterAll, expect, test } from "vitest";
import { run } from "../harness/exec.js";

const dir = await mkdtemp(join(tmpdir(), "molt-e2e-sde-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

test("the library takes sourceDateEpoch from its options only; the CLI passes SOURCE_DATE_EPOCH", async () => {
  const saved = process.env.SOURCE_DATE_EPOCH;
  process.env.SOURCE_DATE_EPOCH = "1000";
  try {
    const base = { context: dir, dockerfileText: "FROM scratch\nENV A=1\n", noPush: true, tmpDir: dir };
    const fromEnvOnly = await build({ ...base, ociLayoutPath: join(dir, "a") });
    // 1000 s after the epoch is 1970-01-01T00:16:40Z: the environment must not have been read
    expect(fromEnvOnly.config.created).not.toBe("1970-01-01T00:16:40.000Z");
    const fromOption = await build({ ...base, ociLayoutPath: join(dir, "b"), sourceDateEpoch: 1000 });
    expect(fromOption.config.created).toBe("1970-01-01T00:16:40.000Z");
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
  // The CLI reads the variable and passes it on (skopeo reads the config, not our code).
  const bin = join(import.meta.dirname, "..", "..", "packages", "cli", "dist", "bundle", "bin.js");
  await run(
    process.execPath,
    [bin, "build", "-c", dir, "-f", "-", "--no-push", "--oci-layout-path", join(dir, "c")],
    {
      env: { ...process.env, SOURCE_DATE_EPOCH: "1000" },
      input: "FROM scratch\nENV A=1\n",
    },
  );
  const cfg = JSON.parse(
    (await run("skopeo", ["inspect", "--config", `oci:${join(dir, "c")}:latest`])).stdout,
  );
  expect(cfg.created).toBe("1970-01-01T00:16:40Z");
});
