#!/usr/bin/env node
// Bundles the CLI (dist/bin.js and everything it imports, node_modules included) into a few
// CommonJS files in dist/bundle/, the package's `bin`: one file to read and compile on start-up
// instead of some 400 modules to resolve, which halves what `molt build` pays before it starts
// working (issue 16; `pnpm bench startup`). What a command loads only when it runs (GCS, S3, git,
// tar contexts, the other commands) stays in chunks of its own. Run by `pnpm build` after tsc.
//
// CommonJS, not ESM, so that the chunks can be compiled from a V8 code cache (Node 20 has none for
// ES modules): dist/bundle/bin.js is scripts/bundle-loader.cjs, which loads the chunks (entry
// cli.js) from a dist/bundle/code-cache-FLAGS.bin, made here by scripts/code-cache.cjs with a
// training run (a two-stage `molt build` that pulls from and pushes to an in-memory registry,
// scripts/training-registry.cjs) once under the flags bin/molt gives node (read
// from bin/molt) and once under none (`node dist/bundle/bin.js`, as the tests and the executor
// image run it).
// MOLT_CODE_CACHE=0 skips making them (the bundle then compiles from source, as it does when a
// cache is stale or made by another Node). MOLT_BUNDLE_MINIFY=0 keeps names as written, for a
// readable CPU profile (node --cpu-prof dist/bundle/bin.js build ...).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "rolldown";
import { trainCodeCache } from "./train-code-cache.mjs";

const scripts = import.meta.dirname;
const dist = join(scripts, "..", "dist");
const out = join(dist, "bundle");
rmSync(out, { recursive: true, force: true });
await build({
  input: { cli: join(dist, "bin.js") },
  platform: "node",
  logLevel: "warn",
  output: {
    dir: out,
    format: "cjs",
    minify: process.env.MOLT_BUNDLE_MINIFY !== "0",
    dynamicImportInCjs: false,
  },
});
// The package is "type": "module"; the bundle's .js files are CommonJS.
writeFileSync(join(out, "package.json"), '{ "type": "commonjs" }\n');
copyFileSync(join(scripts, "bundle-loader.cjs"), join(out, "bin.js"));
if (process.env.MOLT_CODE_CACHE !== "0") {
  for (const flags of [binNodeFlags(), []]) trainCodeCache({ dir: out, flags });
}

/**
 * The flags bin/molt gives node (with no NODE_OPTIONS), read from bin/molt itself: it is run
 * with a stand-in `node` first on PATH that records its arguments.
 */
function binNodeFlags() {
  const tmp = mkdtempSync(join(tmpdir(), "molt-bin-flags-"));
  try {
    writeFileSync(join(tmp, "node"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(tmp, "args")}"\n`, {
      mode: 0o755,
    });
    const r = spawnSync(join(scripts, "..", "bin", "molt"), ["--version"], {
      env: { ...process.env, PATH: `${tmp}:${process.env.PATH}`, NODE_OPTIONS: "" },
      stdio: "ignore",
    });
    const args = readFileSync(join(tmp, "args"), "utf8").split("\n").filter(Boolean);
    const entry = args.findIndex((a) => a.endsWith("/dist/bundle/bin.js"));
    if (r.status !== 0 || entry < 0) throw new Error(`bin/molt ran node with ${JSON.stringify(args)}`);
    return args.slice(0, entry);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
