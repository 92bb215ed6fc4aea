// RUN per-step overhead: a Dockerfile of N `RUN true` steps on busybox, `molt build` vs
// `buildah bud --isolation chroot --layers --storage-driver vfs` of the same file in the same run,
// both pulling the base from a local Debian docker-registry started here. Per-step overhead is
// (time with N steps - time with 0 steps) / N for each builder. Then runner level: N direct
// `runner.run(["true"])` calls per runner this host offers. buildah (vfs copies the root for every
// layer: ~1.7 s per step here) is timed once per Dockerfile to keep the bench under a minute.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxLayout } from "./images.mjs";
import { best, report, SCALE, startRegistry, time, timeShell } from "./lib.mjs";

const repoRoot = join(import.meta.dirname, "..");
const bin = join(repoRoot, "packages", "cli", "dist", "bundle", "bin.js");
const runnerDist = join(repoRoot, "packages", "core", "dist", "runner", "index.js");
const STEPS = Math.max(5, Math.round(20 * SCALE));
const REPEAT = SCALE < 1 ? 1 : 3;

function sh(cmd) {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}
const have = (b) => spawnSync("sh", ["-c", `command -v ${b}`]).status === 0;

function contextWith(dir, name, base, steps) {
  const ctx = join(dir, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile"), `FROM ${base}\n${"RUN true\n".repeat(steps)}`);
  return ctx;
}

async function main() {
  if (process.geteuid?.() !== 0) {
    console.log("run: skipped (needs root for the chroot runner and buildah --isolation chroot)");
    return;
  }
  for (const b of ["docker-registry", "skopeo", "umoci", "busybox"]) {
    if (!have(b)) {
      console.log(`run: skipped (${b} not installed)`);
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "molt-bench-run-"));
  const registry = await startRegistry(dir);
  try {
    const base = `${registry.host}/bench/busybox:latest`;
    sh(`skopeo copy --quiet --dest-tls-verify=false oci:${busyboxLayout(dir)} docker://${base}`);
    const ctxN = contextWith(dir, "ctx-n", base, STEPS);
    const ctx0 = contextWith(dir, "ctx-0", base, 0);

    const molt = (ctx) =>
      best(REPEAT, () =>
        time(async () => {
          const out = join(dir, `oci-${Math.random()}`);
          const r = spawnSync(
            process.execPath,
            [bin, "build", "-c", ctx, "--no-push", "--insecure-pull", "--oci-layout-path", out],
            {
              encoding: "utf8",
            },
          );
          if (r.status !== 0) throw new Error(`molt build failed: ${r.stderr}${r.stdout}`);
          rmSync(out, { recursive: true, force: true });
        }),
      );
    const moltN = await molt(ctxN);
    const molt0 = await molt(ctx0);
    const moltStep = ((moltN - molt0) / STEPS) * 1000;

    if (have("buildah")) {
      const root = join(dir, "buildah");
      const buildah = (ctx) =>
        best(1, () => {
          rmSync(root, { recursive: true, force: true });
          return timeShell(
            `buildah --root ${root}/root --runroot ${root}/run --storage-driver vfs bud --isolation chroot --layers --tls-verify=false -q -t bench ${ctx}`,
          );
        });
      const refN = await buildah(ctxN);
      const ref0 = await buildah(ctx0);
      rmSync(root, { recursive: true, force: true });
      const refStep = ((refN - ref0) / STEPS) * 1000;
      report(`run ${STEPS}x RUN true on busybox (whole build)`, moltN, "buildah bud --layers", refN, 0.5);
      console.log(
        `run per-step overhead: molt ${moltStep.toFixed(1)}ms  buildah ${refStep.toFixed(1)}ms  ratio ${(moltStep / refStep).toFixed(2)} (target <= 0.5)`,
      );
    } else {
      console.log(
        `run ${STEPS}x RUN true: molt ${moltN.toFixed(3)}s, per step ${moltStep.toFixed(1)}ms (buildah not installed)`,
      );
    }

    // Runner level: the same `true`, straight through each runner.
    const { selectRunner, ChrootRunner, detectHost } = await import(runnerDist);
    const rootfs = join(dir, "rootfs");
    sh(
      `mkdir -p ${rootfs} && umoci raw unpack --image ${busyboxLayout(dir)} ${rootfs} 2>/dev/null || umoci unpack --image ${busyboxLayout(dir)} ${join(dir, "b2")}`,
    );
    const r = existsSync(join(rootfs, "bin")) ? rootfs : join(dir, "b2", "rootfs");
    const user = { uid: 0, gid: 0, groups: [], home: "/root" };
    const spec = (root) => ({ rootfs: root, argv: ["true"], env: ["PATH=/bin"], cwd: "/", user });
    const runners = [["chroot", await selectRunner("chroot")]];
    runners.push([
      "chroot (no mounts)",
      new ChrootRunner({ ...(await detectHost({ userNamespaces: false })), namespaces: false }),
    ]);
    try {
      runners.push(["rootless", await selectRunner("rootless")]);
    } catch (e) {
      console.log(`run runner rootless: unavailable (${e.message})`);
    }
    runners.push(["in-place", await selectRunner("in-place", { allowInPlace: true })]);
    for (const [name, runner] of runners) {
      const root = name === "in-place" ? "/" : r;
      await runner.run(spec(root));
      const t = await best(REPEAT, () =>
        time(async () => {
          for (let i = 0; i < STEPS; i++) {
            const o = await runner.run(spec(root));
            if (o.exitCode !== 0) throw new Error(`${name}: exit ${o.exitCode}`);
          }
        }),
      );
      console.log(`run runner ${name}: ${((t / STEPS) * 1000).toFixed(1)}ms per RUN true (${STEPS} runs)`);
    }
    const t = await best(REPEAT, () =>
      time(async () => {
        for (let i = 0; i < STEPS; i++) spawnSync("/bin/true");
      }),
    );
    console.log(`run baseline: ${((t / STEPS) * 1000).toFixed(1)}ms per plain spawn of /bin/true`);
  } finally {
    registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
