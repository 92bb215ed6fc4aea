// End-to-end build: `molt build` of a FROM scratch + COPY Dockerfile over a generated context,
// written to an OCI layout, beside `buildah bud` (the reference builder) of the same Dockerfile
// and context in the same run, with private vfs storage.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { best, report, SCALE, time, timeShell } from "./lib.mjs";

const bin = join(import.meta.dirname, "..", "packages", "cli", "dist", "bin.js");
const dir = mkdtempSync(join(tmpdir(), "molt-bench-build-"));
try {
  const ctx = join(dir, "ctx");
  const files = Math.max(100, Math.round(2000 * SCALE));
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const sub = join(ctx, "src", `d${i % 50}`);
    mkdirSync(sub, { recursive: true });
    const size = (i * 7919) % 40000;
    writeFileSync(join(sub, `f${i}.txt`), Buffer.alloc(size, i % 251));
    bytes += size;
  }
  writeFileSync(join(ctx, "Dockerfile"), 'FROM scratch\nCOPY src /app/\nENV A=1\nCMD ["/app"]\n');
  const label = `build ${files} files/${(bytes / 1e6).toFixed(0)}MB FROM scratch+COPY`;

  const ours = await best(3, () =>
    time(async () => {
      const out = join(dir, `oci-${Math.random()}`);
      const r = spawnSync(
        process.execPath,
        [bin, "build", "-c", ctx, "--no-push", "--oci-layout-path", out],
        { encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`molt build failed: ${r.stderr}`);
      rmSync(out, { recursive: true, force: true });
    }),
  );
  const have = spawnSync("sh", ["-c", "command -v buildah"]).status === 0;
  if (!have) {
    console.log(`${label}: molt ${ours.toFixed(3)}s (buildah not installed: no reference)`);
  } else {
    const root = join(dir, "buildah");
    const ref = await best(3, async () => {
      rmSync(root, { recursive: true, force: true });
      return timeShell(
        `buildah --root ${root}/root --runroot ${root}/run --storage-driver vfs bud --isolation chroot --layers=false -q -t bench ${ctx} && buildah --root ${root}/root --runroot ${root}/run --storage-driver vfs push -q bench oci:${root}/out:latest`,
      );
    });
    report(label, ours, "buildah bud+push oci", ref, 1.0);
    rmSync(root, { recursive: true, force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
