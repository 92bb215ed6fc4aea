// The display's own cost, without the build around it: feeds the events a `RUN seq 1 100000`
// produces (step start, 100,000 log lines, done) to one of molt's renderers writing to a file, one
// event per pipe read (64 KiB ≈ 10,900 lines, as core batches them since events v2), and prints the CPU milliseconds spent
// (user + system: on a loaded machine wall time mostly measures waiting for a core). Run in a
// fresh process each time (the renderer starts cold, as in a build).
// Usage: node bench/display-replay.mjs plain|tty|json OUTFILE
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

const [mode, file] = process.argv.slice(2);
const { JsonRenderer, PlainRenderer, TtyRenderer } = await import(
  join(import.meta.dirname, "..", "packages", "cli", "dist", "progress", "index.js")
);
/** `none`: events made and delivered to nobody (the harness's own cost, to subtract). */
class NoRenderer {
  event() {}
  end() {}
}
const Renderer = { plain: PlainRenderer, tty: TtyRenderer, json: JsonRenderer, none: NoRenderer }[mode];
if (!Renderer) throw new Error(`unknown mode ${mode}`);
const fd = openSync(file, "w");
// As process.stderr on a file: synchronous writes.
const out = { write: (s) => writeSync(fd, s), columns: 120, isTTY: mode === "tty" };
const N = 100_000;
const PER_READ = 10_900;
const t0 = process.cpuUsage();
const r = new Renderer(out, { level: "info", redrawMs: 100 });
r.event({
  type: "molt:step:start",
  step: 3,
  kind: "instruction",
  name: "[2/2] RUN seq 1 100000",
  stage: 0,
  index: 2,
  of: 2,
  instruction: "RUN seq 1 100000",
});
for (let i = 1; i <= N; ) {
  const end = Math.min(N, i + PER_READ - 1);
  const lines = [];
  for (; i <= end; i++) lines.push(String(i));
  r.event({ type: "molt:step:log", step: 3, stream: "stdout", lines });
  await new Promise((res) => setImmediate(res));
}
r.event({ type: "molt:step:done", step: 3, durationMs: 1000 });
r.end({});
const used = process.cpuUsage(t0);
const ms = (used.user + used.system) / 1000;
closeSync(fd);
console.log(ms.toFixed(2));
