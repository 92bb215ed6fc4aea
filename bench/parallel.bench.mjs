// pnpm bench parallel: three independent stages of ~1.5 s of work each (a sleep and a CPU-bound
// step), then a final stage copying from all three. Prints molt's wall time with --jobs 1 and
// --jobs 4, and BuildKit's (dockerd started here with a temp data root, stopped after) for the
// same Dockerfile when docker.io is installed. Then the cost of the display: a build whose RUN
// prints 100,000 lines, with --progress plain / tty / json against -v error (nothing drawn).
// Rounds are interleaved, `sync` before each timed run, medians printed. MOLT_BENCH_RUNS=N rounds.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { have, startDockerd } from "./dockerd.mjs";
import { busyboxLayout, sh } from "./images.mjs";
import { startRegistry } from "./lib.mjs";

const RUNS = Number(process.env.MOLT_BENCH_RUNS ?? "3") || 3;
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

/** Iterations of busybox awk's loop that take `ms` on this machine now. */
function calibrate(ms) {
  const t = (n) => {
    const t0 = performance.now();
    spawnSync("busybox", ["awk", `BEGIN{for(i=0;i<${n};i++)s+=i}`]);
    return performance.now() - t0;
  };
  const n = 2_000_000;
  return Math.round((n * ms) / Math.max(1, t(n)));
}

const dir = mkdtempSync(join(tmpdir(), "molt-bench-parallel-"));
const registry = await startRegistry(join(dir, "registry"));
let dockerd;
try {
  const base = `${registry.host}/bench/busybox:latest`;
  sh(`skopeo copy --quiet --dest-tls-verify=false oci:${busyboxLayout(dir)} docker://${base}`);
  const iterations = calibrate(750);
  const stage = (name) => [
    `FROM ${base} AS ${name}`,
    "RUN sleep 0.75",
    `RUN awk 'BEGIN{for(i=0;i<${iterations};i++)s+=i; print s}' > /${name}`,
  ];
  const ctx = join(dir, "ctx");
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, "Dockerfile"),
    [
      ...stage("a"),
      ...stage("b"),
      ...stage("c"),
      "FROM scratch",
      "COPY --from=a /a /a",
      "COPY --from=b /b /b",
      "COPY --from=c /c /c",
      "",
    ].join("\n"),
  );
  // The longest single stage alone (the bound --jobs 4 is measured against).
  const one = join(dir, "one");
  mkdirSync(one);
  writeFileSync(join(one, "Dockerfile"), `${stage("a").join("\n")}\n`);
  const moltBuild = (c, extra) =>
    timed(process.execPath, [
      MOLT,
      "build",
      "-c",
      c,
      "--no-push",
      "--insecure-pull",
      "--progress=plain",
      ...extra,
    ]);
  if (have("dockerd") && have("/usr/bin/docker")) {
    try {
      dockerd = await startDockerd(join(dir, "dockerd"), registry.host);
    } catch (e) {
      console.log(`BuildKit: not measured (${String(e.message).split("\n")[0]})`);
    }
  }
  const rows = { "molt --jobs 1": [], "molt --jobs 4": [], "molt one stage alone": [], BuildKit: [] };
  for (let i = 0; i < RUNS; i++) {
    rows["molt --jobs 1"].push(moltBuild(ctx, ["-j", "1"]));
    rows["molt --jobs 4"].push(moltBuild(ctx, ["-j", "4"]));
    rows["molt one stage alone"].push(moltBuild(one, []));
    if (dockerd)
      rows.BuildKit.push(
        timed(dockerd.docker, ["build", "--no-cache", "--network", "host", "-q", ctx], {
          env: { ...process.env, ...dockerd.env },
        }),
      );
  }
  const m = Object.fromEntries(
    Object.entries(rows)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => [k, median(v)]),
  );
  console.log(`parallel stages (3 × ~1.5 s, then COPY --from all three), median of ${RUNS}:`);
  for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(22)} ${(v / 1000).toFixed(2)} s`);
  console.log(`  --jobs 4 / --jobs 1      ${(m["molt --jobs 4"] / m["molt --jobs 1"]).toFixed(2)}`);
  console.log(
    `  --jobs 4 / one stage     ${(m["molt --jobs 4"] / m["molt one stage alone"]).toFixed(2)} (target <= 1.2)`,
  );
  if (m.BuildKit) console.log(`  molt --jobs 4 / BuildKit ${(m["molt --jobs 4"] / m.BuildKit).toFixed(2)}`);

  // The display's cost: 100,000 log lines.
  const chatty = join(dir, "chatty");
  mkdirSync(chatty);
  writeFileSync(join(chatty, "Dockerfile"), `FROM ${base}\nRUN seq 1 100000\n`);
  const sink = join(dir, "stderr.out");
  const display = {
    "-v error (nothing drawn)": ["-v", "error"],
    "--progress plain": ["--progress=plain"],
    "--progress tty": ["--progress=tty"],
    "--progress json": ["--progress=json"],
  };
  const d = Object.fromEntries(Object.keys(display).map((k) => [k, []]));
  for (let i = 0; i < Math.max(RUNS, 5); i++) {
    for (const [k, args] of Object.entries(display)) {
      const fd = openSync(sink, "w");
      d[k].push(
        timed(process.execPath, [MOLT, "build", "-c", chatty, "--no-push", "--insecure-pull", ...args], {
          stderr: fd,
        }),
      );
    }
  }
  const base0 = median(d["-v error (nothing drawn)"]);
  console.log(
    `display cost, a RUN printing 100,000 lines (stderr to a file), median of ${Math.max(RUNS, 5)}:`,
  );
  for (const [k, v] of Object.entries(d)) {
    const ms = median(v);
    console.log(
      `  ${k.padEnd(26)} ${(ms / 1000).toFixed(2)} s  ${k.startsWith("-v") ? "" : `${(((ms - base0) / base0) * 100).toFixed(1)}% (target <= 2%)`}`,
    );
  }
} finally {
  await dockerd?.stop();
  registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
