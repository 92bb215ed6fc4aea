// The stages part of `pnpm bench parallel`: three independent stages of 1.5 s of work each (a
// sleep, then a CPU-bound awk), then `FROM scratch` + 3 × `COPY --from`. Two rows, both printed
// every run, each with its own bound, ratio, target and OK/MISSED:
// - "50/50": `RUN sleep 0.75` + 0.75 CPU-s of awk per stage. The three awks need 2.25 CPU-s, 1.5 ×
//   what 2 cores give in the 0.75 s one awk takes, so --jobs 4 >= one stage + 0.375 s even if three
//   stages at once cost nothing else, and <= 1.2 × one stage needs one stage >= 1.875 s, i.e. a
//   fixed cost of 0.375 s + 1.5 × the per-stage overhead that the three stages share.
// - "80/20": `RUN sleep 1.2` + 0.3 CPU-s of awk per stage (0.9 CPU-s on 2 cores: bound one stage
//   + 0.15 s), where 1.2 × one stage measures the scheduling and per-stage overhead only.
// Each molt build runs with --progress=json to a file, timed with /usr/bin/time (wall, CPU of molt
// and its RUN processes); the phases of --jobs 4 and of one stage alone come from the events.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => loadavg()[0].toFixed(1);
const s = (ms) => (ms / 1000).toFixed(2);

/** The two shapes: sleep seconds and CPU milliseconds of each stage. */
export const SHAPES = [
  { key: "50/50", sleep: 0.75, cpuMs: 750 },
  { key: "80/20", sleep: 1.2, cpuMs: 300 },
];

/** Iterations of busybox awk's loop that take `ms` of CPU (user + system, not wall) on this machine. */
function calibrate(ms, dir) {
  const out = join(dir, "calibrate.time");
  const n = 3_000_000;
  const cpu = [];
  for (let i = 0; i < 3; i++) {
    spawnSync("/usr/bin/time", [
      "-f",
      "%U %S",
      "-o",
      out,
      "busybox",
      "awk",
      `BEGIN{for(i=0;i<${n};i++)s+=i}`,
    ]);
    const [u, sy] = readFileSync(out, "utf8").trim().split("\n").at(-1).split(" ").map(Number);
    cpu.push((u + sy) * 1000);
  }
  return Math.round((n * ms) / Math.max(1, median(cpu)));
}

/** A Dockerfile stage named `name`: the shape's sleep, then its awk into `/name`. */
const stageLines = (base, name, shape, iterations) => [
  `FROM ${base} AS ${name}`,
  `RUN sleep ${shape.sleep}`,
  `RUN awk 'BEGIN{for(i=0;i<${iterations};i++)s+=i; print s}' > /${name}`,
];

/**
 * Per stage, from a --progress=json event file: the end of its sleep step, the start and end of
 * its CPU step (ms from the first event); and the build's end.
 */
function phases(file) {
  const ev = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const t0 = Date.parse(ev[0].time);
  const at = (e) => Date.parse(e.time) - t0;
  const steps = new Map();
  let done = 0;
  for (const e of ev) {
    if (e.type === "molt:step:start" && /^RUN (sleep|awk)/.test(e.instruction ?? ""))
      steps.set(e.step, { kind: e.instruction.startsWith("RUN sleep") ? "sleep" : "cpu", start: at(e) });
    if (e.type === "molt:step:done" && steps.has(e.step)) steps.get(e.step).done = at(e);
    if (e.type === "molt:build:done") done = at(e);
  }
  const of = (kind) => [...steps.values()].filter((x) => x.kind === kind);
  return {
    sleepsDone: Math.max(...of("sleep").map((x) => x.done)),
    cpuStart: Math.min(...of("cpu").map((x) => x.start)),
    cpuDone: Math.max(...of("cpu").map((x) => x.done)),
    done,
  };
}

/**
 * Runs the stages part: `moltTimed(ctx, args, eventsFile)` → { ms, cpuMs } runs molt; `dockerd`
 * (optional) is BuildKit. Prints both rows.
 */
export function stages({ base, dir, runs, moltTimed, timed, dockerd }) {
  const cores = Math.min(3, availableParallelism());
  const ctx = {};
  for (const shape of SHAPES) {
    const iterations = calibrate(shape.cpuMs, dir);
    const tag = shape.key.replace("/", "-");
    const three = join(dir, `stages-${tag}`);
    const one = join(dir, `one-${tag}`);
    mkdirSync(three);
    mkdirSync(one);
    writeFileSync(
      join(three, "Dockerfile"),
      [
        ...["a", "b", "c"].flatMap((n) => stageLines(base, n, shape, iterations)),
        "FROM scratch",
        "COPY --from=a /a /a",
        "COPY --from=b /b /b",
        "COPY --from=c /c /c",
        "",
      ].join("\n"),
    );
    writeFileSync(join(one, "Dockerfile"), `${stageLines(base, "a", shape, iterations).join("\n")}\n`);
    ctx[shape.key] = { three, one, iterations };
  }
  // A stage's fixed cost: the same stage with no work in its RUNs.
  const empty = join(dir, "empty");
  mkdirSync(empty);
  writeFileSync(join(empty, "Dockerfile"), `FROM ${base} AS a\nRUN true\nRUN true > /a\n`);
  const rows = Object.fromEntries(
    SHAPES.map((sh) => [sh.key, { j1: [], j4: [], one: [], bk: [], ph4: [], ph1: [], cpu4: [], cpu1: [] }]),
  );
  const emptyMs = [];
  const events = join(dir, "events.json");
  for (let i = 0; i < runs; i++) {
    for (const shape of SHAPES) {
      const r = rows[shape.key];
      const c = ctx[shape.key];
      r.j1.push(moltTimed(c.three, ["-j", "1"], events).ms);
      const j4 = moltTimed(c.three, ["-j", "4"], events);
      r.j4.push(j4.ms);
      r.cpu4.push(j4.cpuMs);
      r.ph4.push({ ...phases(events), wall: j4.ms });
      const o = moltTimed(c.one, [], events);
      r.one.push(o.ms);
      r.cpu1.push(o.cpuMs);
      r.ph1.push({ ...phases(events), wall: o.ms });
      if (dockerd)
        r.bk.push(
          timed(dockerd.docker, ["build", "--no-cache", "--network", "host", "-q", c.three], {
            env: { ...process.env, ...dockerd.env },
          }),
        );
    }
    emptyMs.push(moltTimed(empty, [], events).ms);
  }
  console.log(
    `parallel stages (3 independent stages of a sleep + a CPU-bound awk, then FROM scratch + 3 × COPY --from), median of ${runs}, load ${load()}:`,
  );
  console.log(`  one empty stage (RUN true twice)   ${s(median(emptyMs))} s`);
  for (const shape of SHAPES) report(shape, rows[shape.key], ctx[shape.key].iterations, cores);
}

function report(shape, r, iterations, cores) {
  const m = (xs) => median(xs);
  const one = m(r.one);
  const j4 = m(r.j4);
  const cpuStep = shape.cpuMs;
  const extra = (3 * cpuStep) / cores - cpuStep;
  const bound = one + extra;
  const demand = (3 * cpuStep) / (cores * cpuStep);
  console.log(
    `  ${shape.key}: RUN sleep ${shape.sleep} + ${cpuStep} ms of CPU (awk, ${iterations} iterations) per stage; 3 × ${cpuStep} ms of CPU on ${cores} cores = CPU demand ${demand.toFixed(2)} × the cores`,
  );
  console.log(`    molt --jobs 1          ${s(m(r.j1))} s`);
  console.log(`    molt --jobs 4          ${s(j4)} s (CPU ${s(m(r.cpu4))} s)`);
  console.log(`    molt one stage alone   ${s(one)} s (CPU ${s(m(r.cpu1))} s)`);
  if (r.bk.length > 0) console.log(`    BuildKit               ${s(m(r.bk))} s`);
  const ratio = j4 / one;
  console.log(`    --jobs 4 / --jobs 1      ${(j4 / m(r.j1)).toFixed(2)}`);
  console.log(
    `    --jobs 4 / one stage     ${ratio.toFixed(2)} (target <= 1.2)${ratio <= 1.2 ? "  OK" : "  MISSED"}`,
  );
  const above = j4 - bound;
  console.log(
    `    ${cores}-core bound           ${s(bound)} s = one stage + ${extra.toFixed(0)} ms (3 × ${cpuStep} ms of CPU on ${cores} cores, nothing else costing anything): --jobs 4 / one stage >= ${(bound / one).toFixed(2)}; measured is ${above >= 0 ? `${s(above)} s above it` : `${s(-above)} s below it: other load slows the stage alone more than three at once, so the bound holds on an idle machine only`}`,
  );
  // The target on this shape: 1.2 × one >= bound + what three stages cost beyond one, so
  // bound / one <= 1.2 needs one stage >= 5 × extra (a fixed cost >= 5 × extra − the stage's work).
  const room = 1.2 * one - bound;
  const need = 5 * extra;
  console.log(
    `    1.2 × one stage − bound = ${room >= 0 ? "" : "−"}${s(Math.abs(room))} s left for what three stages cost beyond one (bound / one <= 1.2 needs one stage >= ${s(need)} s, ${need > shape.sleep * 1000 + cpuStep ? `i.e. a fixed cost >= ${s(need - shape.sleep * 1000 - cpuStep)} s + 1.5 × the CPU a stage adds while the CPU steps run` : "true of any stage of this shape"})`,
  );
  // Where --jobs 4's time over one stage went (medians of the phases, from the events).
  const ph = (list, f) => m(list.map(f));
  const rows = [
    ["to the end of the sleeps", (p) => p.sleepsDone],
    ["CPU steps (first start → last done)", (p) => p.cpuDone - p.cpuStart],
    ["after the CPU steps", (p) => p.done - p.cpuDone],
    ["outside the events (start-up, exit)", (p) => p.wall - p.done],
  ];
  const parts = rows.map(([name, f]) => {
    const a = ph(r.ph4, f);
    const b = ph(r.ph1, f);
    return `${name} ${a.toFixed(0)} vs ${b.toFixed(0)} ms (${a - b >= 0 ? "+" : ""}${(a - b).toFixed(0)})`;
  });
  console.log(
    `    phases, --jobs 4 vs one stage: ${parts.join("; ")}; the bound allows +${extra.toFixed(0)} on the CPU steps only`,
  );
  // CPU the two extra stages cost beyond their own CPU steps (both counts include every RUN process).
  const perStage = (m(r.cpu4) - m(r.cpu1)) / 2 - cpuStep;
  console.log(
    `    CPU per extra stage beyond its ${cpuStep} ms CPU step: ${perStage.toFixed(0)} ms (((CPU --jobs 4) − (CPU one stage)) / 2 − ${cpuStep})`,
  );
}
