#!/usr/bin/env node
// Runs every bench/*.bench.mjs in its own process, one after another, and prints their lines.
// Each benchmark prints molt's figure beside a reference command's figure on the same data in
// the same run, and the ratio. MOLT_BENCH_SCALE (default 1) shrinks or grows the data; a name
// filter may be given: `pnpm bench layer`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dirname;
const filter = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.mjs") && (!filter || f.includes(filter)))
  .sort();
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n## ${f}\n`);
  const r = spawnSync(process.execPath, ["--expose-gc", join(dir, f)], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`!! ${f} exited ${r.status}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
