// Layer writing benchmark: a 300 MB / 20,000-file tree (mixed sizes, mixed compressibility) written as
// one gzip layer into a blob store, against `tar -c | gzip -6 | sha256sum` and
// `tar -c | pigz -6 -p2 | sha256sum` on the same tree in the same run.
// MOLT_BENCH_SCALE (float, default 1) scales the data. Run `pnpm build` first.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore, writeLayer } from "@molt/layer-writer";

const scale = Number(process.env.MOLT_BENCH_SCALE ?? "1") || 1;
const FILES = Math.max(50, Math.round(20_000 * scale));
const TOTAL = Math.max(1 << 20, Math.round(300e6 * scale));

// Deterministic pseudo-random generator so runs are comparable.
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const WORDS =
  "the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part".split(
    " ",
  );
function textChunk(n) {
  const parts = [];
  let len = 0;
  while (len < n) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)];
    parts.push(w);
    len += w.length + 1;
  }
  return Buffer.from(parts.join(" ")).subarray(0, n);
}
let RANDOM_POOL; // made only in the parent: the measured child must not carry the generator's 8 MB
function content(n) {
  RANDOM_POOL ??= randomBytes(8 << 20);
  // ~70% text-like (compressible), ~30% random (incompressible), like binaries + text in a rootfs
  if (rnd() < 0.3) {
    const off = Math.floor(rnd() * (RANDOM_POOL.length - Math.min(n, RANDOM_POOL.length)));
    if (n <= RANDOM_POOL.length) return RANDOM_POOL.subarray(off, off + n);
    return Buffer.concat(
      Array.from({ length: Math.ceil(n / RANDOM_POOL.length) }, () => RANDOM_POOL),
    ).subarray(0, n);
  }
  return textChunk(n);
}

function makeTree(root) {
  // sizes: most files small, a few large; scaled so the sum is TOTAL
  const weights = [];
  for (let i = 0; i < FILES; i++) {
    const r = rnd();
    weights.push(r < 0.9 ? 1 + rnd() * 8 : r < 0.99 ? 20 + rnd() * 100 : 1000 + rnd() * 3000);
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `d${i % 97}`, `s${i % 13}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.dat`), content(Math.max(1, Math.floor((weights[i] / sum) * TOTAL))));
  }
}

/**
 * The tree's changes as a lazy stream, the way a snapshotter hands them over: one `add` per
 * directory and file, made as the writer asks for them (the writer keeps what it needs, compactly,
 * to sort them), so no 20,000-object list is held by the caller.
 */
function* changesOf(root) {
  const stack = [["", root]];
  while (stack.length > 0) {
    const [rel, abs] = stack.pop();
    for (const name of readdirSync(abs)) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(a, { bigint: true });
      const mode = Number(st.mode & 0o7777n);
      const uid = Number(st.uid);
      const gid = Number(st.gid);
      if (st.isDirectory()) {
        yield {
          kind: "add",
          entry: { path: r, type: "directory", mode, uid, gid, size: 0, mtimeNs: st.mtimeNs },
        };
        stack.push([r, a]);
      } else if (st.isFile()) {
        yield {
          kind: "add",
          entry: {
            path: r,
            type: "file",
            mode,
            uid,
            gid,
            size: Number(st.size),
            mtimeNs: st.mtimeNs,
            source: a,
          },
        };
      }
    }
  }
}

/** Runs a shell pipeline; its wall time, and the CPU seconds of every process in it (bash's `time`). */
function timeShell(cmd, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("bash", ["-o", "pipefail", "-c", `TIMEFORMAT='@cpu %U %S'; time { ${cmd}; }`], {
    cwd,
    encoding: "utf8",
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  const m = /@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

async function child(tree, blobs, compression) {
  const store = await BlobStore.open(blobs);
  const before = process.memoryUsage().rss; // Node + the loaded modules, before anything is read
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  // timed from the first lstat: walking the tree is part of the work (tar -c walks it too)
  const result = await writeLayer(changesOf(tree), store, { compression, level: 6 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0); // every thread of the process: main + zlib's thread pool
  // maxRSS is in KiB: the whole process's peak over its whole life, Node itself included
  process.stdout.write(
    JSON.stringify({
      seconds,
      cpu: (cpu.user + cpu.system) / 1e6,
      size: result.size,
      digest: result.digest,
      maxRss: process.resourceUsage().maxRSS * 1024,
      before,
    }),
  );
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], process.argv[4], process.argv[5] ?? "gzip");
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "molt-layer-bench-"));
try {
  // MOLT_BENCH_TREE=DIR reuses (or creates and keeps) the generated tree there
  const kept = process.env.MOLT_BENCH_TREE;
  const tree = kept ?? join(work, "tree");
  if (!kept || !existsSync(join(tree, "d0"))) {
    mkdirSync(tree, { recursive: true });
    makeTree(tree);
  }
  const du = execFileSync("du", ["-sb", tree], { encoding: "utf8" }).split("\t")[0];
  // warm the page cache for everyone alike
  timeShell("tar -c . > /dev/null", tree);
  const runOurs = (compression) => {
    rmSync(join(work, "blobs"), { recursive: true, force: true });
    const out = execFileSync(
      process.execPath,
      [process.argv[1], "--child", tree, join(work, "blobs"), compression],
      {
        encoding: "utf8",
      },
    );
    return JSON.parse(out);
  };
  // MOLT_BENCH_RUNS=N: N interleaved rounds (ours, gzip, pigz); the best time of each side is
  // compared (the least disturbed by other work on a shared machine), every run is listed, and the
  // peak RSS is the highest of all our runs.
  const rounds = Math.max(1, Math.floor(Number(process.env.MOLT_BENCH_RUNS ?? "1")) || 1);
  const runs = { ours: [], gzip: [], pigz: [] };
  for (let i = 0; i < rounds; i++) {
    runs.ours.push(runOurs("gzip"));
    runs.gzip.push(timeShell("tar -c . | gzip -6 | sha256sum > /dev/null", tree));
    runs.pigz.push(timeShell("tar -c . | pigz -6 -p2 | sha256sum > /dev/null", tree));
  }
  const best = (xs) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const ours = { ...best(runs.ours), maxRss: Math.max(...runs.ours.map((r) => r.maxRss)) };
  const gzipT = best(runs.gzip).seconds;
  const pigzT = best(runs.pigz).seconds;
  const gzSize = Number(
    execFileSync("bash", ["-c", "tar -c . | gzip -6 | wc -c"], { cwd: tree, encoding: "utf8" }),
  );
  const mb = (Number(du) / 1e6).toFixed(0);
  const label = `layer-write ${mb}MB/${FILES} files`;
  const t = ours.seconds;
  const of = rounds > 1 ? ` (best of ${rounds})` : "";
  console.log(
    `${label}: molt ${t.toFixed(2)}s  tar|gzip -6 ${gzipT.toFixed(2)}s  ratio ${(t / gzipT).toFixed(2)} (target < 1.0)${of}`,
  );
  console.log(
    `${label}: molt ${t.toFixed(2)}s  tar|pigz -6 -p2 ${pigzT.toFixed(2)}s  ratio ${(t / pigzT).toFixed(2)} (target <= 1.25, i.e. >= 0.8x pigz speed)${of}`,
  );
  console.log(
    `${label}: peak RSS ${(ours.maxRss / 1e6).toFixed(0)} MB (target < 150; ${(ours.before / 1e6).toFixed(0)} MB before writeLayer started)  compressed ${ours.size} bytes vs gzip -6 ${gzSize} (${((ours.size / gzSize - 1) * 100).toFixed(2)}%), ${ours.digest}`,
  );
  const list = (xs) => xs.map((r) => `${r.seconds.toFixed(2)}s/${r.cpu.toFixed(1)}cpu`).join(" ");
  console.log(
    `${label}: runs (wall/CPU seconds): molt ${list(runs.ours)} [RSS ${runs.ours.map((r) => (r.maxRss / 1e6).toFixed(0)).join(" ")} MB]  gzip ${list(runs.gzip)}  pigz ${list(runs.pigz)}`,
  );
  if (process.env.MOLT_BENCH_ALL) {
    for (const c of ["none", "zstd"]) {
      const r = runOurs(c);
      console.log(
        `${label}: molt ${c} ${r.seconds.toFixed(2)}s  peak RSS ${(r.maxRss / 1e6).toFixed(0)} MB  size ${r.size}`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
