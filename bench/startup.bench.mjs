// Start-up: `molt --version`, `molt build --help` and a whole `molt build` of `FROM scratch` (no
// registry, no layer: what a build pays before and around its work) beside a bare `node -e 0`
// (the reference: what any Node program pays), interleaved over rounds, medians. molt runs as
// users run it: the package's bin (bin/molt, the bundle; as root it execs the build through
// `unshare`, one process). Two rows show what that saves: `node dist/bundle/bin.js build` (the
// same bundle, with the node wrapper that re-executes a root build in a private mount namespace)
// and `node dist/bin.js build` (tsc's output, unbundled: 400 modules resolved one by one). One
// row runs the bin with its V8 code cache turned off (MOLT_CODE_CACHE=0: every chunk compiled
// from source, as with a stale cache or another Node; packages/cli/scripts/bundle-loader.cjs).
// One row builds against a registry (the code cache's training registry, packages/cli/scripts/
// training-registry.cjs, in a child process): pull of a one-layer base, COPY of 5 files, as root a
// RUN of the base's static /bin/true, push; its code mostly comes compiled out of the code cache.
// Targets (issue 16): --version <= 60 ms above bare node; the build row as low as it goes (a warm
// cached rebuild, issue 11, must stay <= 0.5 s in all).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = join(import.meta.dirname, "..", "packages", "cli");
const launcher = join(cli, "bin", "molt");
const bundle = join(cli, "dist", "bundle", "bin.js");
const unbundled = join(cli, "dist", "bin.js");
const ROUNDS = Number(process.env.MOLT_BENCH_ROUNDS ?? "15") || 15;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const work = mkdtempSync(join(tmpdir(), "molt-bench-startup-"));
const ctx = join(work, "ctx");
mkdirSync(ctx);
writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nENV A=1\n");
const build = ["build", "-c", ctx, "--no-push", "--progress=plain"];
// The registry row's registry, in a child process (the timed runs below block this one).
const registryChild = spawn(
  process.execPath,
  [
    "-e",
    `require(${JSON.stringify(join(cli, "scripts", "training-registry.cjs"))}).startTrainingRegistry()` +
      `.then((r) => { process.stdout.write(JSON.stringify(r) + "\\n"); setInterval(() => {}, 1 << 30); })`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const registry = await new Promise((resolve, reject) => {
  registryChild.once("exit", (code) => reject(new Error(`training registry exited ${code}`)));
  registryChild.stdout.once("data", (d) => resolve(JSON.parse(String(d))));
});
const regCtx = join(work, "reg-ctx");
mkdirSync(join(regCtx, "app"), { recursive: true });
for (let i = 0; i < 5; i++) writeFileSync(join(regCtx, "app", `f${i}.txt`), `file ${i}\n`.repeat(40));
const runStep = process.geteuid?.() === 0 && registry.canRun ? 'RUN ["/bin/true"]\n' : "";
writeFileSync(join(regCtx, "Dockerfile"), `FROM ${registry.base}\n${runStep}COPY app /app/\n`);
const regBuild = [
  "build",
  "-c",
  regCtx,
  "-d",
  `${registry.host}/bench/out:1`,
  "--insecure",
  "--insecure-pull",
];
const regName = `molt build (pull, ${runStep ? "RUN, " : ""}COPY, push)`;
// Wall time, and CPU time (user + system of the process and its children, from GNU time), which
// a loaded machine disturbs less.
const cpu = {};
const timeOnce = (name, cmd) => {
  const env = { ...process.env, ...(cmd.env ?? {}) };
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "CPU %U %S", ...cmd], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    env,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} exited ${r.status}: ${r.stderr}`);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  (cpu[name] ??= []).push(m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN);
  return ms;
};
const node = process.execPath;
const cases = {
  "node -e 0": [node, "-e", "0"],
  "molt --version": [launcher, "--version"],
  "molt build --help": [launcher, "build", "--help"],
  "molt build (FROM scratch)": [launcher, ...build],
  "molt build (FROM scratch), no code cache": Object.assign([launcher, ...build], {
    env: { MOLT_CODE_CACHE: "0" },
  }),
  [regName]: [launcher, ...regBuild, "--progress=plain"],
  [`${regName}, no code cache`]: Object.assign([launcher, ...regBuild, "--progress=plain"], {
    env: { MOLT_CODE_CACHE: "0" },
  }),
  "node dist/bundle/bin.js build (node wrapper)": [node, bundle, ...build],
  "node dist/bin.js build (unbundled)": [node, unbundled, ...build],
};
const t = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
try {
  for (let i = 0; i < ROUNDS; i++) for (const [k, c] of Object.entries(cases)) t[k].push(timeOnce(k, c));
} finally {
  registryChild.removeAllListeners("exit");
  registryChild.kill();
  rmSync(work, { recursive: true, force: true });
}
const bare = median(t["node -e 0"]);
const bareCpu = median(cpu["node -e 0"]);
for (const k of Object.keys(cases)) {
  const m = median(t[k]);
  const extra = m - bare;
  const c = median(cpu[k]);
  const target =
    k === "molt --version" ? `  (target <= 60 ms above node: ${extra <= 60 ? "OK" : "MISSED"})` : "";
  console.log(
    `startup ${k}: wall ${m.toFixed(0)} ms (+${extra.toFixed(0)} over bare node ${bare.toFixed(0)})  cpu ${c.toFixed(0)} ms (+${(c - bareCpu).toFixed(0)})${target}`,
  );
}
const saved = (a, b) =>
  `${(median(t[b]) - median(t[a])).toFixed(0)} ms wall, ${(median(cpu[b]) - median(cpu[a])).toFixed(0)} ms cpu`;
console.log(
  `startup build: the bin saves ${saved("molt build (FROM scratch)", "node dist/bin.js build (unbundled)")} against the unbundled CLI (${saved("molt build (FROM scratch)", "node dist/bundle/bin.js build (node wrapper)")} of it the exec instead of the node wrapper)`,
);
console.log(
  `startup build: the code cache saves ${saved("molt build (FROM scratch)", "molt build (FROM scratch), no code cache")} (FROM scratch), ${saved(regName, `${regName}, no code cache`)} (${regName.slice(12, -1)})`,
);
console.log(`load: ${spawnSync("uptime", { encoding: "utf8" }).stdout.trim()}`);
