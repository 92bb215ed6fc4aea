// Cold builds, end to end: `molt build` beside Docker's BuildKit (Debian docker.io, dockerd
// started here with its state in a temp dir) and `buildah bud`, on the same four Dockerfiles in
// the same run, each building and pushing to a loopback docker-registry, pulling its base every
// time (BuildKit's cache and images are pruned, buildah gets a fresh storage root, molt a fresh
// temp dir). Rounds interleave the tools, `sync` runs before each timed build, medians are
// reported. Printed per scenario: each tool's time, molt / BuildKit, molt's peak RSS, the pushed
// image's layer bytes (molt and BuildKit), and the layer bytes molt downloaded (registry log).
// MOLT_BENCH_ROUNDS (default 3) sets the rounds; MOLT_BENCH_SCALE shrinks the data;
// MOLT_BENCH_CASES=regex runs only the scenarios whose name matches. The Debian row also times
// molt's next build with the base's layer index kept in a --cache-dir (a file changed, so COPY
// misses): the CI case, which should download no base layer.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { have, startDockerd } from "./dockerd.mjs";
import { busyboxLayout, debianLayout, sh } from "./images.mjs";
import { SCALE, startRegistry } from "./lib.mjs";

const repoRoot = join(import.meta.dirname, "..");
// The package's bin, as users run it (bin/molt: the bundle; as root, one process exec'ed through unshare).
const bin = join(repoRoot, "packages", "cli", "bin", "molt");
const ROUNDS = Number(process.env.MOLT_BENCH_ROUNDS ?? "3") || 3;

/** Median of a list of numbers. */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs `cmd` under GNU time: wall seconds and peak RSS (KiB) of the process tree it waited for. */
function timed(cmd, env = {}) {
  spawnSync("sync");
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "MAXRSS %M", "bash", "-o", "pipefail", "-c", cmd], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd}\n${r.stderr.slice(-3000)}`);
  const rss = Number(/MAXRSS (\d+)/.exec(r.stderr)?.[1] ?? "0");
  return { s, rssMiB: rss / 1024 };
}

/** Sum of the layer sizes of a pushed image, read with skopeo (an independent tool). */
function layerBytes(ref) {
  const m = JSON.parse(sh(`skopeo inspect --raw --tls-verify=false docker://${ref}`));
  return m.layers.reduce((n, l) => n + l.size, 0);
}

/** Bytes of layer blobs the registry sent since `from` (access log: `"GET …/blobs/sha256:…" 200 N`). */
function blobBytesSent(logFile, from, layerDigests) {
  const text = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(from) : "";
  let n = 0;
  for (const m of text.matchAll(/"GET [^ "]*\/blobs\/(sha256:[0-9a-f]{64}) HTTP\/[0-9.]+" 200 (\d+)/g)) {
    if (layerDigests.has(m[1])) n += Number(m[2]);
  }
  return n;
}

function writeTree(root, files) {
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), data);
  }
}

/** The four scenarios of issue 16, each a context directory with a Dockerfile. */
function scenarios(dir, busybox, debian) {
  const out = [];
  const small = join(dir, "small");
  const twenty = {};
  for (let i = 0; i < 20; i++) twenty[`app/f${i}.txt`] = `file ${i}\n`.repeat(50);
  writeTree(small, {
    ...twenty,
    Dockerfile: `FROM ${busybox}\nRUN echo one > /one\nRUN mkdir -p /data && echo two > /data/two\nRUN echo three >> /one\nCOPY app /app/\nCMD ["sh"]\n`,
  });
  out.push({ name: "small (busybox, 3 RUN, COPY 20 files)", ctx: small });

  const multi = join(dir, "multistage");
  const mb = Math.max(1, Math.round(4 * SCALE));
  writeTree(multi, {
    Dockerfile: `FROM ${busybox} AS build\nRUN mkdir /out && head -c ${mb * 1000000} /dev/zero | tr '\\0' x > /out/payload && echo built > /out/stamp\nFROM ${busybox}\nCOPY --from=build /out /app\nCMD ["sh"]\n`,
  });
  out.push({ name: `multistage (COPY --from, ${mb} MB)`, ctx: multi });

  const many = join(dir, "manyfiles");
  const n = Math.max(1000, Math.round(50000 * SCALE));
  mkdirSync(join(many, "files"), { recursive: true });
  for (let d = 0; d < 100; d++) mkdirSync(join(many, "files", `d${d}`));
  for (let i = 0; i < n; i++) writeFileSync(join(many, "files", `d${i % 100}`, `f${i}`), `${i}\n`);
  writeFileSync(
    join(many, "Dockerfile"),
    `FROM ${busybox}\nCOPY files /files/\nRUN echo done > /files/done\n`,
  );
  out.push({ name: `manyfiles (${n} files, then a one-file RUN)`, ctx: many });

  if (debian) {
    const deb = join(dir, "debian-copy");
    writeTree(deb, { ...twenty, Dockerfile: `FROM ${debian}\nCOPY app /app/\n` });
    out.push({ name: "debian + COPY 20 small files", ctx: deb, debian: true });
  }
  return out;
}

async function main() {
  if (process.geteuid?.() !== 0) return console.log("build: skipped (needs root: RUN, buildah, dockerd)");
  for (const b of ["docker-registry", "skopeo", "umoci", "busybox", "buildah"]) {
    if (!have(b)) return console.log(`build: skipped (${b} not installed)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "molt-bench-build-"));
  const registry = await startRegistry(join(dir, "registry"), { accessLog: true });
  const log = join(dir, "registry", "access.log");
  let dockerd;
  try {
    const busybox = `${registry.host}/bench/busybox:latest`;
    sh(`skopeo copy --quiet --dest-tls-verify=false oci:${busyboxLayout(dir)} docker://${busybox}`);
    const debLayout = debianLayout(dir, repoRoot);
    const debian = debLayout ? `${registry.host}/bench/debian:bookworm` : undefined;
    if (debLayout) sh(`skopeo copy --quiet --dest-tls-verify=false oci:${debLayout} docker://${debian}`);
    const baseLayers = new Set();
    for (const ref of [busybox, debian].filter(Boolean)) {
      const m = JSON.parse(sh(`skopeo inspect --raw --tls-verify=false docker://${ref}`));
      for (const l of m.layers) baseLayers.add(l.digest);
    }
    dockerd =
      have("dockerd") && existsSync("/usr/bin/docker")
        ? await startDockerd(join(dir, "docker"), registry.host)
        : undefined;
    if (!dockerd) console.log("build: BuildKit reference unavailable (docker.io not installed)");
    const only = process.env.MOLT_BENCH_CASES ? new RegExp(process.env.MOLT_BENCH_CASES) : undefined;
    const cases = scenarios(join(dir, "ctx"), busybox, debian).filter((c) => !only || only.test(c.name));
    for (const c of cases) {
      const t = { molt: [], buildkit: [], buildah: [], warm: [] };
      let rss = 0;
      let downloaded = 0;
      let downloadedWarm = 0;
      const cacheDir = c.debian ? mkdtempSync(join(dir, "molt-cache-")) : undefined;
      if (cacheDir) {
        // untimed: the first build on this base makes the index and keeps it in the cache dir
        timed(
          `${bin} build -c ${c.ctx} -d ${registry.host}/bench/warmup:1 --insecure --insecure-pull --cache-dir ${cacheDir} -v error`,
          {
            TMPDIR: mkdtempSync(join(dir, "molt-tmp-")),
          },
        );
      }
      for (let round = 0; round < ROUNDS; round++) {
        const tag = `${registry.host}/bench/out:${round}`;
        const work = mkdtempSync(join(dir, "molt-tmp-"));
        const from = existsSync(log) ? readFileSync(log, "utf8").length : 0;
        const m = timed(`${bin} build -c ${c.ctx} -d ${tag}-molt --insecure --insecure-pull -v error`, {
          TMPDIR: work,
        });
        t.molt.push(m.s);
        rss = Math.max(rss, m.rssMiB);
        downloaded = Math.max(downloaded, blobBytesSent(log, from, baseLayers));
        rmSync(work, { recursive: true, force: true });
        if (cacheDir) {
          writeFileSync(join(c.ctx, "app", "f0.txt"), `changed in round ${round} at ${Date.now()}\n`);
          const w = mkdtempSync(join(dir, "molt-tmp-"));
          const fromW = existsSync(log) ? readFileSync(log, "utf8").length : 0;
          const mw = timed(
            `${bin} build -c ${c.ctx} -d ${tag}-molt-warm --insecure --insecure-pull --cache-dir ${cacheDir} -v error`,
            { TMPDIR: w },
          );
          t.warm.push(mw.s);
          downloadedWarm = Math.max(downloadedWarm, blobBytesSent(log, fromW, baseLayers));
          rmSync(w, { recursive: true, force: true });
        }
        if (dockerd) {
          // One docker subcommand per call: cmd prefixes the docker binary once, so a "; image
          // prune" after it never ran, and BuildKit kept the base after the first round.
          dockerd.cmd("builder prune -af");
          dockerd.cmd("image prune -af");
          const d = timed(
            `${dockerd.docker} build -q --network host -t ${tag}-bk ${c.ctx} >/dev/null && ${dockerd.docker} push -q ${tag}-bk >/dev/null`,
            dockerd.env,
          );
          t.buildkit.push(d.s);
        }
        const broot = join(dir, `buildah-${round}`);
        const b = `buildah --root ${broot}/root --runroot ${broot}/run --storage-driver vfs`;
        t.buildah.push(
          timed(
            `${b} bud --isolation chroot --tls-verify=false --layers=false -q -t ${tag}-ba ${c.ctx} >/dev/null && ${b} push -q --tls-verify=false ${tag}-ba docker://${tag}-ba`,
          ).s,
        );
        sh(`${b} rm -a >/dev/null 2>&1; ${b} rmi -af >/dev/null 2>&1; rm -rf ${broot}`);
      }
      const ours = median(t.molt);
      const bk = dockerd ? median(t.buildkit) : undefined;
      const last = `${registry.host}/bench/out:${ROUNDS - 1}`;
      const moltBytes = layerBytes(`${last}-molt`);
      const bkBytes = dockerd ? layerBytes(`${last}-bk`) : undefined;
      const ratio = bk ? ours / bk : undefined;
      console.log(
        `build ${c.name}: molt ${ours.toFixed(3)}s  buildkit ${bk?.toFixed(3) ?? "-"}s  buildah ${median(t.buildah).toFixed(3)}s  ` +
          `molt/buildkit ${ratio?.toFixed(2) ?? "-"} (target <= 0.8)${ratio === undefined ? "" : ratio <= 0.8 ? " OK" : " MISSED"}  ` +
          `peak RSS ${rss.toFixed(0)} MiB (target < 200)  layer bytes molt ${moltBytes} buildkit ${bkBytes ?? "-"}  ` +
          `base bytes downloaded by molt ${downloaded}${c.debian ? " (target 0)" : ""}`,
      );
      if (cacheDir) {
        const warm = median(t.warm);
        console.log(
          `  molt, next build with the base's index in --cache-dir (a file changed): ${warm.toFixed(3)}s  ` +
            `molt/buildkit ${bk ? (warm / bk).toFixed(2) : "-"}  base bytes downloaded ${downloadedWarm} (target 0)  ` +
            `rounds ${t.warm.map((x) => x.toFixed(2)).join(" ")}`,
        );
      }
      console.log(
        `  rounds: molt ${t.molt.map((x) => x.toFixed(2)).join(" ")} | buildkit ${t.buildkit.map((x) => x.toFixed(2)).join(" ")} | buildah ${t.buildah.map((x) => x.toFixed(2)).join(" ")}`,
      );
    }
  } finally {
    await dockerd?.stop();
    registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
