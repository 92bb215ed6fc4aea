// Build-context benchmark: a 20,000-file / 300 MB directory whose .dockerignore drops half of it
// (`**/*.log` and `cache`), opened with @molt/context-source, walked and filtered, and written as
// the COPY layer (gzip -6) by @molt/layer-writer into a blob store — against GNU
// `tar -c --exclude-from | gzip -6` of the same tree with the same exclusions, in the same run.
// MOLT_BENCH_SCALE (float, default 1) scales the data. Run `pnpm build` first.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openContext } from "@molt/context-source";
import { BlobStore, writeLayer } from "@molt/layer-writer";
import { best, report, SCALE, time, timeShell } from "./lib.mjs";

const FILES = Math.max(40, Math.round(20_000 * SCALE));
const TOTAL = Math.max(1 << 20, Math.round(300e6 * SCALE));

let seed = 7;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const RANDOM = randomBytes(4 << 20);
const TEXT = Buffer.from(
  Array.from(
    { length: 200_000 },
    () =>
      [
        "const",
        "return",
        "function",
        "import",
        "export",
        "value",
        "the",
        "data",
        "if",
        "else",
        "{",
        "}",
        ";",
        "\n",
      ][Math.floor(rnd() * 14)],
  ).join(" "),
);
function content(n) {
  const pool = rnd() < 0.3 ? RANDOM : TEXT; // ~30% incompressible, like binaries among sources
  const parts = [];
  let left = n;
  while (left > 0) {
    const take = Math.min(left, pool.length);
    const off = Math.floor(rnd() * (pool.length - take + 1));
    parts.push(pool.subarray(off, off + take));
    left -= take;
  }
  return Buffer.concat(parts, n);
}

const dir = mkdtempSync(join(tmpdir(), "molt-bench-context-"));
try {
  const ctx = join(dir, "ctx");
  // sizes: skewed (many small, few large), scaled to TOTAL
  const weights = Array.from({ length: FILES }, () => rnd() ** 4);
  const sum = weights.reduce((a, b) => a + b, 0);
  let keptFiles = 0;
  let keptBytes = 0;
  for (let i = 0; i < FILES; i++) {
    const size = Math.floor((weights[i] / sum) * TOTAL);
    // half kept (.txt in src/), a quarter *.log next to them, a quarter under cache/
    let rel;
    if (i % 2 === 0) rel = `src/d${i % 100}/f${i}.txt`;
    else if (i % 4 === 1) rel = `src/d${i % 100}/f${i}.log`;
    else rel = `cache/c${i % 50}/f${i}.bin`;
    mkdirSync(join(ctx, rel, ".."), { recursive: true });
    writeFileSync(join(ctx, rel), content(size));
    if (i % 2 === 0) {
      keptFiles++;
      keptBytes += size;
    }
  }
  writeFileSync(join(ctx, ".dockerignore"), "# build junk\n**/*.log\ncache\n");
  writeFileSync(join(dir, "exclude"), "*.log\ncache\n");
  const label = `context ${FILES} files/${(TOTAL / 1e6).toFixed(0)}MB, .dockerignore keeps ${keptFiles} files/${(keptBytes / 1e6).toFixed(0)}MB → COPY layer gzip`;

  // warm the page cache for both sides
  timeShell(`tar -C ${ctx} -cf - . > /dev/null`);

  const molt = async () => {
    const storeDir = join(dir, `store-${Math.random().toString(36).slice(2)}`);
    const seconds = await time(async () => {
      const source = await openContext(ctx);
      const store = await BlobStore.open(storeDir);
      async function* changes() {
        for await (const entry of source.walk()) {
          yield { kind: "add", entry: { ...entry, path: `app/${entry.path}`, uid: 0, gid: 0 } };
        }
      }
      const r = await writeLayer(changes(), store, { compression: "gzip", level: 6 });
      if (r.entries < keptFiles) throw new Error(`layer has ${r.entries} entries, expected >= ${keptFiles}`);
      await source.close();
    });
    rmSync(storeDir, { recursive: true, force: true });
    return seconds;
  };
  const ref = () =>
    timeShell(`tar -C ${ctx} --exclude-from=${dir}/exclude -cf - . | gzip -6 > ${dir}/ref.tar.gz`);

  const ours = await best(2, molt);
  const theirs = await best(2, async () => ref());
  report(label, ours, "tar --exclude-from|gzip -6", theirs, 1.2);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
