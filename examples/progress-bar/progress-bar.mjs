#!/usr/bin/env node
// Draws a progress bar for a molt build from its events alone (build({ onProgress })).
//
//   node examples/progress-bar/progress-bar.mjs CONTEXT OCI_LAYOUT_DIR [--insecure-pull]
//
// One line per update on stderr when it is not a terminal (so it can be read in logs and
// tests), redrawn in place when it is; the image digest on stdout.
import { build } from "molt";

const [context, layout, ...rest] = process.argv.slice(2);
if (!context || !layout) {
  console.error("usage: progress-bar.mjs CONTEXT OCI_LAYOUT_DIR [--insecure-pull]");
  process.exit(2);
}

/** Steps known so far: the `of` of every stage whose FROM started, plus the other steps. */
const known = new Map(); // step id -> counted in the total
const stageTotals = new Map(); // stage index -> steps in it
let done = 0;
let bytes = 0;
let current = "";
const transfers = new Map(); // digest -> bytes moved

function total() {
  let stageSteps = 0;
  for (const n of stageTotals.values()) stageSteps += n;
  const other = [...known.values()].filter((k) => k === "other").length;
  return Math.max(stageSteps + other, done, 1);
}

function draw(final = false) {
  const all = total();
  const width = 30;
  const filled = Math.round((done / all) * width);
  const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
  const pct = String(Math.floor((done / all) * 100)).padStart(3);
  const line = `[${bar}] ${pct}% ${done}/${all} steps ${(bytes / 1e6).toFixed(1)}MB ${final ? "done" : current}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}${final ? "\n" : ""}`);
  else process.stderr.write(`${line}\n`);
}

const result = await build({
  context,
  noPush: true,
  ociLayoutPath: layout,
  ...(rest.includes("--insecure-pull") ? { registries: { "*": { pull: { insecure: true } } } } : {}),
  onProgress(e) {
    switch (e.type) {
      case "molt:step:start":
        if (e.kind === "from" || e.kind === "instruction") stageTotals.set(e.stage, e.of);
        else known.set(e.step, "other");
        current = e.name;
        draw();
        break;
      case "molt:step:done":
      case "molt:step:error":
      case "molt:step:canceled":
        done++;
        draw();
        break;
      case "molt:registry:blob-progress": {
        const before = transfers.get(e.digest) ?? 0;
        transfers.set(e.digest, e.transferred);
        bytes += e.transferred - before;
        break;
      }
    }
  },
});
draw(true);
console.log(result.digest);
