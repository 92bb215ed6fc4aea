// RUN --mount costs. (1) Per runner this host offers: one `RUN true` with three mounts (a
// read-only bind, a cache directory taken with its flock and a 1 MiB tmpfs) against the same
// step without them, interleaved rounds, medians; the extra is what the mounts cost (target
// <= 20 ms). (2) A cache mount that travels: export (tar+zstd, push) and import (pull, unpack) of
// a ~100 MB cache directory through a loopback registry, against `tar | zstd` plus `skopeo copy`
// of the same bytes both ways (target <= 1.2x).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxLayout } from "./images.mjs";
import { report, SCALE, startRegistry, time } from "./lib.mjs";

const repoRoot = join(import.meta.dirname, "..");
const coreDist = join(repoRoot, "packages", "core", "dist", "index.js");
const rcDist = join(repoRoot, "packages", "registry-client", "dist", "index.js");
const ROUNDS = SCALE < 1 ? 5 : 15;
const CACHE_MB = Math.max(10, Math.round(100 * SCALE));

function sh(cmd) {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function runnerCost(dir) {
  const { selectRunner, ChrootRunner, detectHost, CacheMountStore } = await import(coreDist);
  const rootfs = join(dir, "b", "rootfs");
  sh(`umoci unpack --image ${busyboxLayout(dir)} ${join(dir, "b")} >/dev/null`);
  // A root directory with a sub-second mtime, as after any RUN that changed it: putting it back
  // exactly after removing mount targets is part of the cost.
  sh(`touch -d @1700000000.123456789 ${rootfs}`);
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "f"), "x");
  const store = new CacheMountStore(join(dir, "cache-mounts"));
  const user = { uid: 0, gid: 0, groups: [], home: "/root" };
  const runners = [["chroot", await selectRunner("chroot")]];
  runners.push([
    "chroot (no mounts)",
    new ChrootRunner({ ...(await detectHost({ userNamespaces: false })), namespaces: false }),
  ]);
  try {
    runners.push(["rootless", await selectRunner("rootless")]);
  } catch (e) {
    console.log(`mounts runner rootless: unavailable (${e.message})`);
  }
  runners.push(["in-place", await selectRunner("in-place", { allowInPlace: true })]);
  for (const [name, runner] of runners) {
    const root = name === "in-place" ? "/" : rootfs;
    // in place, targets go under a private directory of this machine's /tmp
    const t = name === "in-place" ? join(dir, "inplace") : "";
    const spec = { rootfs: root, argv: ["true"], env: ["PATH=/bin:/usr/bin"], cwd: "/", user };
    const withMounts = async () => {
      const lease = await store.acquire("bench", "shared", { mode: 0o755, uid: 0, gid: 0 });
      try {
        const o = await runner.run({
          ...spec,
          mounts: [
            { type: "bind", source: join(dir, "src"), target: `${t}/mnt/src`, readonly: true },
            {
              type: "bind",
              source: lease.path,
              target: `${t}/var/cache/bench`,
              readonly: false,
              persist: true,
            },
            { type: "tmpfs", target: `${t}/scratch`, size: 1 << 20 },
          ],
        });
        if (o.exitCode !== 0) throw new Error(`${name}: exit ${o.exitCode}`);
      } finally {
        await lease.release();
      }
    };
    const without = async () => {
      const o = await runner.run(spec);
      if (o.exitCode !== 0) throw new Error(`${name}: exit ${o.exitCode}`);
    };
    await withMounts();
    await without();
    const a = [];
    const b = [];
    const ca = [];
    const cb = [];
    // molt's own CPU time (this process; the programs it starts are the same with and without
    // mounts): what the wall-clock extra would be on an idle machine, whatever the load here
    const cpu = async (fn, into) => {
      const c = process.cpuUsage();
      const t = await time(fn);
      const d = process.cpuUsage(c);
      into.push((d.user + d.system) / 1000);
      return t;
    };
    for (let i = 0; i < ROUNDS; i++) {
      a.push(await cpu(withMounts, ca));
      b.push(await cpu(without, cb));
    }
    const extra = (median(a) - median(b)) * 1000;
    console.log(
      `mounts runner ${name}: RUN true with 3 mounts ${(median(a) * 1000).toFixed(1)}ms, without ${(median(b) * 1000).toFixed(1)}ms, extra ${extra.toFixed(1)}ms (target <= 20)${extra <= 20 ? "  OK" : "  MISSED"}; molt CPU extra ${(median(ca) - median(cb)).toFixed(1)}ms`,
    );
  }
}

// (3) A bind of a context directory: bound in place (one walk of lstats, see directContextPath)
// against the copy molt made before (still made when .dockerignore excludes something under it).
async function contextBindCost(dir) {
  const { openDirectoryContext } = await import(
    join(repoRoot, "packages", "context-source", "dist", "index.js")
  );
  const { directContextPath, copyFromContext } = await import(
    join(repoRoot, "packages", "core", "dist", "mounts", "sources.js")
  );
  const root = join(dir, "ctx");
  const files = Math.max(200, Math.round(2000 * SCALE));
  for (let i = 0; i < files; i++) {
    const d = join(root, "src", `d${i % 40}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), randomBytes(20 << 10));
  }
  const ctx = await openDirectoryContext(root);
  const loc = { file: "Dockerfile", line: 1, column: 1 };
  const direct = [];
  const copy = [];
  for (let i = 0; i < 3; i++) {
    sh("sync");
    direct.push(
      await time(async () => {
        if (!(await directContextPath(ctx, "src"))) throw new Error("expected a direct bind");
      }),
    );
    const scratch = join(dir, `copy-${i}`);
    mkdirSync(scratch);
    sh("sync");
    copy.push(await time(() => copyFromContext(ctx, "src", scratch, loc)));
    rmSync(scratch, { recursive: true, force: true });
  }
  await ctx.close();
  report(
    `mounts context bind (${files} files, ${Math.round((files * 20) / 1024)} MB): bound in place`,
    median(direct),
    "copied once per build",
    median(copy),
  );
}

async function travelCost(dir) {
  const { CacheMountStore, CacheMountTravel } = await import(coreDist);
  const { RegistryClient } = await import(rcDist);
  const registry = await startRegistry(join(dir, "registry"));
  try {
    const client = new RegistryClient({ insecure: [registry.host] });
    // ~half incompressible (like .deb/.whl archives), half text, in 1 MiB files
    const fill = (target) => {
      mkdirSync(target, { recursive: true });
      const text = Buffer.from(
        "Package: example\nVersion: 1.0\nDepends: libc6 (>= 2.34)\n".repeat(20000),
      ).subarray(0, 1 << 20);
      for (let i = 0; i < CACHE_MB; i++)
        writeFileSync(join(target, `f${i}`), i % 2 ? randomBytes(1 << 20) : text);
    };
    const ours = [];
    const ref = [];
    const rounds = SCALE < 1 ? 1 : 3;
    for (let r = 0; r < rounds; r++) {
      // molt: export from machine A, import on a fresh machine B
      const a = new CacheMountStore(join(dir, `a${r}`));
      const id = `bench-${process.pid}-${r}`;
      fill(join(a.dirOf(id), "0"));
      sh("sync");
      const tOurs = await time(async () => {
        const ta = new CacheMountTravel(client, `${registry.host}/bench/cache-mounts`, a);
        // a fingerprint before the "step", then a change, as a build that wrote to the cache
        await ta.beforeUse(id);
        writeFileSync(join(a.dirOf(id), "0", "changed"), "1");
        await ta.exportChanged();
        const b = new CacheMountStore(join(dir, `b${r}`));
        await new CacheMountTravel(client, `${registry.host}/bench/cache-mounts`, b).beforeUse(id);
        if (!existsSync(join(b.dirOf(id), "0", "changed"))) throw new Error("import did not arrive");
      });
      ours.push(tOurs);
      // reference: tar | zstd into an OCI layout, skopeo copy up and back, zstd -d | tar -x
      const src = join(a.dirOf(id), "0");
      const layout = join(dir, `ref-layout-${r}`);
      const back = join(dir, `ref-back-${r}`);
      sh("sync");
      const tRef = await time(async () => {
        sh(
          `mkdir -p ${layout}/blobs/sha256 && tar -C ${src} -c --numeric-owner . | zstd -q -3 -T1 > ${layout}/layer`,
        );
        const lh = sh(`sha256sum ${layout}/layer | cut -d' ' -f1`).trim();
        const size = Number(sh(`stat -c %s ${layout}/layer`).trim());
        sh(`mv ${layout}/layer ${layout}/blobs/sha256/${lh}`);
        const cfg = "{}";
        const ch = sh(`printf %s '${cfg}' | tee ${layout}/cfg | sha256sum | cut -d' ' -f1`).trim();
        sh(`mv ${layout}/cfg ${layout}/blobs/sha256/${ch}`);
        const man = JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${ch}`, size: 2 },
          layers: [
            { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: `sha256:${lh}`, size },
          ],
        });
        writeFileSync(join(layout, "m"), man);
        const mh = sh(`sha256sum ${layout}/m | cut -d' ' -f1`).trim();
        sh(`mv ${layout}/m ${layout}/blobs/sha256/${mh}`);
        writeFileSync(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
        writeFileSync(
          join(layout, "index.json"),
          JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                digest: `sha256:${mh}`,
                size: man.length,
                annotations: { "org.opencontainers.image.ref.name": "x" },
              },
            ],
          }),
        );
        sh(
          `skopeo copy --quiet --dest-tls-verify=false oci:${layout}:x docker://${registry.host}/bench/ref:${r}`,
        );
        sh(
          `skopeo copy --quiet --src-tls-verify=false docker://${registry.host}/bench/ref:${r} oci:${back}:x`,
        );
        const top = JSON.parse(sh(`cat ${back}/index.json`)).manifests[0].digest.slice(7);
        const bl = JSON.parse(sh(`cat ${back}/blobs/sha256/${top}`)).layers[0].digest.slice(7);
        sh(
          `mkdir -p ${back}/x && zstd -q -d -c ${back}/blobs/sha256/${bl} | tar -C ${back}/x -x --numeric-owner`,
        );
      });
      ref.push(tRef);
      rmSync(join(dir, `a${r}`), { recursive: true, force: true });
      rmSync(join(dir, `b${r}`), { recursive: true, force: true });
      rmSync(layout, { recursive: true, force: true });
      rmSync(back, { recursive: true, force: true });
    }
    report(
      `mounts cache travel round trip (${CACHE_MB} MB, export + import)`,
      median(ours),
      "tar|zstd + skopeo copy up and back",
      median(ref),
      1.2,
    );
    await client.close();
  } finally {
    registry.stop();
  }
}

async function main() {
  if (process.geteuid?.() !== 0) {
    console.log("mounts: skipped (needs root for the chroot runner)");
    return;
  }
  for (const b of ["docker-registry", "skopeo", "umoci", "zstd"]) {
    if (spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0) {
      console.log(`mounts: skipped (${b} not installed)`);
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "molt-bench-mounts-"));
  try {
    const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log(`mounts: load average before ${load()}`);
    await runnerCost(dir);
    console.log(`mounts: load average after the runner rounds ${load()}`);
    await contextBindCost(dir);
    await travelCost(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
