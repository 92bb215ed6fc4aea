// Base images for the benchmarks, made without the internet: busybox from Debian's
// busybox-static (umoci), and the Debian minbase that the test harness caches (debootstrap).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const repoRoot = join(import.meta.dirname, "..");

/** Runs a bash command, returns its stdout; throws with its stderr when it fails. */
export function sh(cmd) {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", cmd], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

/** A busybox OCI layout (`DIR:tag`): the test harness's cached one when present, else made here with umoci. */
export function busyboxLayout(dir) {
  const cache = join(repoRoot, ".cache", "test-images");
  if (existsSync(cache)) {
    for (const d of readdirSync(cache)) {
      if (d.startsWith("busybox-") && existsSync(join(cache, d, "done")))
        return `${join(cache, d, "layout")}:amd64`;
    }
  }
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  sh(
    `umoci init --layout ${layout} && umoci new --image ${layout}:amd64 && umoci unpack --image ${layout}:amd64 ${bundle}`,
  );
  const r = join(bundle, "rootfs");
  mkdirSync(join(r, "bin"), { recursive: true });
  mkdirSync(join(r, "etc"), { recursive: true });
  sh(`cp /bin/busybox ${r}/bin/busybox && chroot ${r} /bin/busybox --install -s /bin`);
  writeFileSync(join(r, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(r, "etc", "group"), "root:x:0:\n");
  sh(
    `umoci repack --image ${layout}:amd64 ${bundle} && umoci config --image ${layout}:amd64 --config.env PATH=/bin`,
  );
  return `${layout}:amd64`;
}

/**
 * The Debian bookworm minbase as a one-layer OCI layout (`DIR:tag`), from the test harness's
 * cached GNU tar layer (`.cache/debian-minbase-bookworm/layer.tar.gz`, made by the suite's Debian
 * tests). Returns undefined when that cache is absent (run the suite once, or skip the row).
 */
export function debianLayout(dir) {
  const layer = join(repoRoot, ".cache", "debian-minbase-bookworm", "layer.tar.gz");
  if (!existsSync(`${layer}.done`)) return undefined;
  const layout = join(dir, "debian-layout");
  sh(
    `umoci init --layout ${layout} && umoci new --image ${layout}:bookworm && gunzip -c ${layer} > ${dir}/debian-layer.tar && umoci raw add-layer --image ${layout}:bookworm ${dir}/debian-layer.tar && rm ${dir}/debian-layer.tar && umoci config --image ${layout}:bookworm --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  );
  return `${layout}:bookworm`;
}
