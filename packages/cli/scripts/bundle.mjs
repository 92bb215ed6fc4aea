#!/usr/bin/env node
// Bundles the CLI (dist/bin.js and everything it imports, node_modules included) into a few ESM
// files in dist/bundle/, the package's `bin`: one file to read and compile on start-up instead
// of some 400 modules to resolve, which halves what `molt build` pays before it starts working
// (issue 16; `pnpm bench startup`). What a command loads only when it runs (GCS, S3, git, tar
// contexts, the other commands) stays in chunks of its own. Run by `pnpm build` after tsc.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "rolldown";

const dist = join(import.meta.dirname, "..", "dist");
const out = join(dist, "bundle");
rmSync(out, { recursive: true, force: true });
await build({
  input: join(dist, "bin.js"),
  platform: "node",
  logLevel: "warn",
  output: { dir: out, format: "esm", minify: true },
});
