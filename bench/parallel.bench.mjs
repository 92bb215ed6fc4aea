// pnpm bench parallel: three independent stages of 1.5 s of work each (a sleep and a CPU-bound
// step), then a final stage copying from all three, in two shapes (parallel-stages.mjs says why).
// Prints molt's wall time with --jobs 1 and --jobs 4, one stage alone, the cores' bound, and
// BuildKit's (dockerd started here with a temp data root, stopped after) for the same Dockerfile
// when docker.io is installed. Then the cost of the display (target <= 2 %): a
// build whose RUN prints 100,000 lines, with --progress plain / tty / json; the CLI counts its
// renderer's own CPU time inside that build (MOLT_DISPLAY_CPU_FILE), printed as a share of the
// run's CPU time, with the whole build's CPU against -v error (nothing drawn) as a cross-check.
// Rounds are interleaved, `sync` before each timed run, medians printed. MOLT_BENCH_RUNS=N rounds;
// MOLT_BENCH_PARTS=stages or =display runs one half only.
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { have, startDockerd } from "./dockerd.mjs";
import { busyboxLayout, sh } from "./images.mjs";
import { startRegistry } from "./lib.mjs";
import { stages } from "./parallel-stages.mjs";

const RUNS = Number(process.env.MOLT_BENCH_RUNS ?? "3") || 3;
const PARTS = process.env.MOLT_BENCH_PARTS ?? "stages,display";
const MOLT = join(import.meta.dirname, "..", "packages", "cli", "dist", "bundle", "bin.js");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(cmd, args, opts = {}) {
  spawnSync("sync");
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", opts.stderr ?? "ignore"], ...opts });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return ms;
}

/**
 * One `molt build -c CTX --no-push --insecure-pull ...extra` under /usr/bin/time: its wall
 * milliseconds and its CPU (user + system of molt and its children, in ms).
 */
function timedBuild(ctx, extra, rusage, opts) {
  const ms = timed(
    "/usr/bin/time",
    [
      "-f",
      "%U %S",
      "-o",
      rusage,
      process.execPath,
      MOLT,
      "build",
      "-c",
      ctx,
      "--no-push",
      "--insecure-pull",
      ...extra,
    ],
    opts,
  );
  const [user, sys] = readFileSync(rusage, "utf8").trim().split("\n").at(-1).split(" ").map(Number);
  return { ms, cpuMs: (user + sys) * 1000 };
}

const dir = mkdtempSync(join(tmpdir(), "molt-bench-parallel-"));
const registry = await startRegistry(join(dir, "registry"));
let dockerd;
const load = () => loadavg()[0].toFixed(1);
console.log(`load average at start: ${load()} (${process.env.MOLT_BENCH_RUNS ?? 3} rounds)`);
try {
  const base = `${registry.host}/bench/busybox:latest`;
  sh(`skopeo copy --quiet --dest-tls-verify=false oci:${busyboxLayout(dir)} docker://${base}`);
  if (PARTS.includes("stages")) await runStages(base);
  if (PARTS.includes("display")) display(base);
  console.log(`load average at end: ${load()}`);
} finally {
  await dockerd?.stop();
  registry.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** --jobs 1 vs --jobs 4 vs the longest stage alone vs BuildKit, on both shapes (parallel-stages.mjs). */
async function runStages(base) {
  if (have("dockerd") && have("/usr/bin/docker")) {
    try {
      dockerd = await startDockerd(join(dir, "dockerd"), registry.host);
    } catch (e) {
      console.log(`BuildKit: not measured (${String(e.message).split("\n")[0]})`);
    }
  }
  const rusage = join(dir, "stages.time");
  const moltTimed = (c, extra, events) => {
    const fd = openSync(events, "w");
    try {
      return timedBuild(c, ["--progress=json", ...extra], rusage, { stderr: fd });
    } finally {
      closeSync(fd);
    }
  };
  stages({ base, dir, runs: RUNS, moltTimed, timed, dockerd });
}

/**
 * The display's cost on a build whose RUN prints 100,000 lines, as the build sees it: the real
 * CLI with --progress plain / tty / json (stderr to a file) counts its renderer's own CPU time
 * in the build process (MOLT_DISPLAY_CPU_FILE: every call into the renderer and every flush or
 * redraw it scheduled, on the main thread's own CPU clock, /proc/thread-self/schedstat), taken
 * as a share of that run's whole CPU time (user + system of molt and its RUN processes, /usr/bin/time). The
 * cross-check: the whole build's CPU against the same build with -v error (the display drawing
 * nothing), medians of interleaved rounds; on a loaded machine its noise is larger than the
 * target, the in-process count is not.
 */
function display(base) {
  const chatty = join(dir, "chatty");
  mkdirSync(chatty);
  writeFileSync(join(chatty, "Dockerfile"), `FROM ${base}\nRUN seq 1 100000\n`);
  const sink = join(dir, "stderr.out");
  const modes = {
    "-v error (nothing drawn)": ["-v", "error"],
    "--progress plain": ["--progress=plain"],
    "--progress tty": ["--progress=tty"],
    "--progress json": ["--progress=json"],
  };
  const rounds = Math.max(RUNS, 7);
  const keys = Object.keys(modes);
  /** Per mode and round: wall ms, CPU ms of the whole build, the renderer's CPU ms inside it. */
  const wall = Object.fromEntries(keys.map((k) => [k, []]));
  const cpu = Object.fromEntries(keys.map((k) => [k, []]));
  const own = Object.fromEntries(keys.map((k) => [k, []]));
  const share = Object.fromEntries(keys.map((k) => [k, []]));
  const rusage = join(dir, "rusage");
  const meterFile = join(dir, "display-cpu.json");
  let sections = 0;
  let overheadNs = 0;
  let clock = "";
  for (let i = 0; i < rounds; i++) {
    // Interleaved, the order turned each round so no mode always runs first.
    for (let j = 0; j < keys.length; j++) {
      const k = keys[(i + j) % keys.length];
      rmSync(meterFile, { force: true });
      const fd = openSync(sink, "w");
      const run = timedBuild(chatty, modes[k], rusage, {
        stderr: fd,
        env: { ...process.env, MOLT_DISPLAY_CPU_FILE: meterFile },
      });
      closeSync(fd);
      wall[k].push(run.ms);
      const total = run.cpuMs;
      const m = JSON.parse(readFileSync(meterFile, "utf8"));
      cpu[k].push(total);
      own[k].push(m.ns / 1e6);
      share[k].push((m.ns / 1e6 / total) * 100);
      if (k === "--progress plain") {
        sections = m.runs;
        overheadNs = m.overheadNs;
        clock = m.clock;
      }
      if (i === 0 && (k === "--progress plain" || k === "--progress json")) checkComplete(sink, k);
    }
  }
  const cpu0 = median(cpu["-v error (nothing drawn)"]);
  const idle = median(own["-v error (nothing drawn)"]);
  const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * f)];
  console.log(
    `display cost, a RUN printing 100,000 lines (stderr to a file), median of ${rounds}, load ${load()}:`,
  );
  console.log(
    `  (renderer: its own CPU inside the build process, ${clock} clock, ${sections} metered calls, ${(overheadNs / 1000).toFixed(0)} µs clock cost each taken off, as a share of that run's CPU; whole build: CPU against -v error, whose CPU spread is ${(q(cpu["-v error (nothing drawn)"], 0.25) / 1000).toFixed(2)}–${(q(cpu["-v error (nothing drawn)"], 0.75) / 1000).toFixed(2)} s)`,
  );
  for (const k of keys) {
    const line = `  ${k.padEnd(26)} ${(median(wall[k]) / 1000).toFixed(2)} s wall, ${(median(cpu[k]) / 1000).toFixed(3)} s CPU (${(q(cpu[k], 0.25) / 1000).toFixed(3)}–${(q(cpu[k], 0.75) / 1000).toFixed(3)}), renderer ${median(own[k]).toFixed(1)} ms`;
    if (k.startsWith("-v")) {
      console.log(line);
      continue;
    }
    const pct = median(share[k]);
    const whole = ((median(cpu[k]) - cpu0) / cpu0) * 100;
    // The same count for the renderer that draws nothing (-v error): the meter's floor on this
    // machine now (cold code, other threads' ticks); the verdict is on the whole count.
    const net = ((median(own[k]) - idle) / (median(cpu[k]) || 1)) * 100;
    console.log(
      `${line} = ${pct.toFixed(2)}% of the build (target <= 2%)${pct <= 2 ? "  OK" : "  MISSED"};  less the idle renderer ${net.toFixed(2)}%;  whole build CPU ${whole >= 0 ? "+" : ""}${whole.toFixed(1)}% vs -v error`,
    );
  }
}

/** The output holds all 100,000 lines, in order: nothing clipped or lost. */
function checkComplete(file, mode) {
  const text = readFileSync(file, "utf8");
  let n = 0;
  for (const m of text.matchAll(/(?:^#\d+ \d+\.\d{3} |")(\d+)(?="|$)/gm)) if (Number(m[1]) === n + 1) n++;
  if (n !== 100_000) throw new Error(`display ${mode}: ${n} of 100,000 lines found in the output`);
}
