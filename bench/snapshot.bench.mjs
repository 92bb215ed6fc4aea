// Snapshotter benchmarks (issue 6), each beside its reference on the same data in the same run:
//  1. extracting the Debian minbase layer (debootstrap, cached in .cache/) vs `tar -xzf` and
//     `tar -I pigz -xf` (interleaved rounds, `sync` before each run, medians; MOLT_BENCH_RUNS);
//  2. a one-file change in 5k / 50k / 200k-file roots: walk mode vs
//     `find ROOT -printf '%T@ %C@ %s %m %U %G %i\n' >/dev/null`, and overlay mode (whole step:
//     mount, change, unmount, read upper, merge) which must stay < 50 ms whatever the size.
// Node runs with bin/molt's flags (MOLT_BENCH_NODE_FLAGS overrides them, "" for none).
// MOLT_BENCH_SCALE scales the root sizes. Run `pnpm build` first; needs root for overlay.
import { spawnSync } from "node:child_process";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createSnapshotter, extract } from "@molt/snapshotter";
import { best, report, SCALE, time, timeShell } from "./lib.mjs";

// Run under bin/molt's node flags (packages/cli/bin/molt): WebAssembly on Liftoff only, which is
// what hashes every extracted file (xxh64), and a 2 MiB young generation; a re-exec, as node takes
// them only at start. MOLT_BENCH_NODE_FLAGS="" runs with this node's own flags.
const MOLT_FLAGS = (process.env.MOLT_BENCH_NODE_FLAGS ?? "--liftoff-only --max-semi-space-size=2")
  .split(/\s+/)
  .filter(Boolean);
if (MOLT_FLAGS.length > 0 && process.env.MOLT_BENCH_FLAGS_SET !== "1") {
  const args = [...MOLT_FLAGS, ...process.execArgv, process.argv[1], ...process.argv.slice(2)];
  const r = spawnSync(process.execPath, args, {
    stdio: "inherit",
    env: { ...process.env, MOLT_BENCH_FLAGS_SET: "1" },
  });
  process.exit(r.status ?? 1);
}

const CACHE = join(import.meta.dirname, "..", ".cache", "debian-minbase-bookworm");
const dir = mkdtempSync(join(tmpdir(), "molt-bench-snap-"));

/** The Debian layer as test/harness/debian-base.ts makes it (same cache), or null if debootstrap fails. */
function debianLayer() {
  const layer = join(CACHE, "layer.tar.gz");
  if (existsSync(`${layer}.done`)) return layer;
  const rootfs = join(CACHE, "rootfs");
  const script = `set -eu
    mkdir -p ${CACHE}
    if [ ! -e ${CACHE}/rootfs.done ]; then
      rm -rf ${CACHE}/rootfs.tmp ${rootfs}
      debootstrap --variant=minbase bookworm ${CACHE}/rootfs.tmp http://deb.debian.org/debian
      rm -rf ${CACHE}/rootfs.tmp/var/cache/apt/archives/*.deb ${CACHE}/rootfs.tmp/var/lib/apt/lists/*_Packages
      mv ${CACHE}/rootfs.tmp ${rootfs}; touch ${CACHE}/rootfs.done
    fi
    tar --format=pax --numeric-owner --xattrs --xattrs-include='*' --sort=name -C ${rootfs} -cf - . | gzip -6 > ${layer}.tmp
    mv ${layer}.tmp ${layer}; touch ${layer}.done`;
  const r = spawnSync("sh", ["-c", script], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    console.log(`debian extract: skipped (debootstrap failed: ${r.stderr.trim().split("\n").pop()})`);
    return null;
  }
  return layer;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/**
 * CPU seconds (user + system) of this process and of the children it waited for (from
 * /proc/self/stat, in 10 ms ticks), so a run's CPU is told beside its wall time: on a shared
 * machine wall time swings with the neighbours, CPU time much less.
 */
function cpuNow() {
  const self = process.cpuUsage();
  const stat = readFileSync("/proc/self/stat", "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (self.user + self.system) / 1e6 + (Number(f[13]) + Number(f[14])) / 100;
}
const load1 = () => readFileSync("/proc/loadavg", "latin1").split(" ")[0];

async function benchExtract() {
  const layer = debianLayer();
  if (!layer) return;
  let n = 0;
  const fresh = () => join(dir, `x${n++}`);
  // Trees are deleted only at the end: on ext4 without a journal (these VMs), files created within
  // 60 s of a mass delete (6 min while the inode table block is dirty) make the inode allocator
  // skip each recently deleted inode (recently_deleted() in find_inode_bit): runs 2-8x slower.
  // Other sessions' deletes still count: compare the runs printed, not only the medians.
  const made = [];
  const clean = (d) => made.push(d);
  // Warm the page cache for the compressed layer, then interleave the tools round by round,
  // with a `sync` before each timed run (the write-back of the previous tree is not ours to pay).
  // MOLT_BENCH_RUNS=N rounds (default 5); medians are compared, each run is printed.
  timeShell(`cat ${layer} >/dev/null`);
  const rounds = Math.max(1, Math.floor(Number(process.env.MOLT_BENCH_RUNS ?? "5")) || 5);
  const havePigz = spawnSync("sh", ["-c", "command -v pigz"]).status === 0;
  const runs = { ours: [], ref: [], pigz: [] };
  const cpu = { ours: [], ref: [], pigz: [] };
  const loads = [];
  const tools = [
    [
      "ours",
      (d) => time(() => extract([{ open: () => createReadStream(layer, { highWaterMark: 1 << 20 }) }], d)),
    ],
    ["ref", (d) => timeShell(`tar -xzf ${layer} -C ${d}`)],
    ...(havePigz ? [["pigz", (d) => timeShell(`tar -I pigz -xf ${layer} -C ${d}`)]] : []),
  ];
  for (let i = 0; i < rounds; i++) {
    // The order rotates each round: no tool always runs first or right after the same one.
    for (const [key, run] of [...tools.slice(i % tools.length), ...tools.slice(0, i % tools.length)]) {
      const d = fresh();
      mkdirSync(d);
      spawnSync("sync");
      const c0 = cpuNow();
      runs[key].push(await run(d));
      cpu[key].push(cpuNow() - c0);
      clean(d);
    }
    loads.push(load1());
  }
  for (const d of made) rmSync(d, { recursive: true, force: true });
  const mb =
    (spawnSync("sh", ["-c", `gzip -l ${layer} | tail -1`], { encoding: "utf8" })
      .stdout.trim()
      .split(/\s+/)[1] ?? 0) / 1e6;
  const label = `extract debian minbase (${mb.toFixed(0)} MB, median of ${rounds})`;
  report(label, median(runs.ours), "tar -xzf", median(runs.ref), 1.0);
  if (havePigz) report(label, median(runs.ours), "tar -I pigz -xf", median(runs.pigz), 1.0);
  const list = (xs) => xs.map((x) => x.toFixed(2)).join(" ");
  console.log(
    `extract debian minbase: runs (s) molt ${list(runs.ours)}  tar -xzf ${list(runs.ref)}${havePigz ? `  tar -I pigz ${list(runs.pigz)}` : ""}  load ${loads.join(" ")}`,
  );
  console.log(
    `extract debian minbase: CPU (user+sys s, children included) median molt ${median(cpu.ours).toFixed(2)}  tar -xzf ${median(cpu.ref).toFixed(2)}${havePigz ? `  tar -I pigz ${median(cpu.pigz).toFixed(2)}` : ""}; runs molt ${list(cpu.ours)}`,
  );
}

/** A plain tar of `files` small files, 100 per directory, written by hand from the ustar spec. */
function treeTar(files) {
  const blocks = [];
  const header = (name, type, size) => {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100);
    h.write(type === "5" ? "0000755\0" : "0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
    h.write(
      `${Math.floor(Date.now() / 1000 - 86400)
        .toString(8)
        .padStart(11, "0")}\0`,
      136,
    );
    h.write("        ", 148);
    h.write(type, 156);
    h.write("ustar\u000000", 257, "latin1");
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    return h;
  };
  const body = Buffer.alloc(512, 0x61);
  for (let i = 0; i < files; i++) {
    if (i % 100 === 0) blocks.push(header(`d${Math.floor(i / 10000)}/s${Math.floor(i / 100)}/`, "5", 0));
    blocks.push(header(`d${Math.floor(i / 10000)}/s${Math.floor(i / 100)}/f${i}`, "0", 100), body);
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function benchChange(files) {
  const root = join(dir, `root-${files}`);
  const tar = treeTar(files);
  const baseline = await extract([{ open: () => Readable.from([tar]) }], root, { hash: false });
  const target = join(root, "d0", "s0", "f0");
  let k = 0;
  const label = `one-file change, ${files} files`;
  // walk
  const walk = await createSnapshotter(root, { mode: "walk", baseline });
  await (await walk.begin()).finish(); // warm
  const find = `find ${root} -printf '%T@ %C@ %s %m %U %G %i\\n' >/dev/null`;
  timeShell(find);
  const walkT = await best(3, async () => {
    const step = await walk.begin();
    writeFileSync(target, `v${k++}`);
    return time(() => step.finish());
  });
  await walk.close();
  const findT = await best(3, async () => timeShell(find));
  report(`${label}: walk`, walkT, "find -printf", findT, 1.5);
  // overlay (the whole step: begin + write + finish)
  let overlay;
  try {
    overlay = await createSnapshotter(root, { mode: "overlay", baseline: walk.baseline });
  } catch (e) {
    console.log(`${label}: overlay skipped (${e.message})`);
    return;
  }
  const ovT = await best(5, () =>
    time(async () => {
      const step = await overlay.begin();
      writeFileSync(join(step.rootfs, "d0", "s0", "f0"), `o${k++}`);
      const changes = await step.finish();
      if (changes.length !== 3) throw new Error(`expected 3 changes, got ${changes.length}`);
    }),
  );
  await overlay.close();
  console.log(
    `${label}: overlay step ${(ovT * 1000).toFixed(1)} ms (target < 50 ms, independent of size)${ovT < 0.05 ? "  OK" : "  MISSED"}`,
  );
  rmSync(root, { recursive: true, force: true });
}

try {
  await benchExtract();
  // MOLT_BENCH_ONLY=extract: the extraction only.
  if (process.env.MOLT_BENCH_ONLY !== "extract")
    for (const n of [5_000, 50_000, 200_000]) await benchChange(Math.max(100, Math.round(n * SCALE)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
