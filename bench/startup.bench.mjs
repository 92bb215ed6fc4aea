// Start-up: `molt --version` and `molt build --help` beside a bare `node -e 0` (the reference:
// what any Node program pays), interleaved over rounds, medians. Target: --version <= 60 ms above
// bare node (issue 16).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const bin = join(import.meta.dirname, "..", "packages", "cli", "dist", "bin.js");
const ROUNDS = Number(process.env.MOLT_BENCH_ROUNDS ?? "15") || 15;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// Wall time, and CPU time (user + system, from GNU time), which a loaded machine disturbs less.
const cpu = {};
const timeOnce = (name, args) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "CPU %U %S", process.execPath, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  (cpu[name] ??= []).push(m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN);
  return ms;
};
const cases = {
  "node -e 0": ["-e", "0"],
  "molt --version": [bin, "--version"],
  "molt build --help": [bin, "build", "--help"],
};
const t = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < ROUNDS; i++) for (const [k, a] of Object.entries(cases)) t[k].push(timeOnce(k, a));
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
