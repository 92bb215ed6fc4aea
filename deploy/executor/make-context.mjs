#!/usr/bin/env node
// Makes the build context of deploy/executor/Dockerfile in the directory given (default
// .cache/executor-context): the molt CLI bundled into a few ESM files with rolldown (no
// node_modules in the image; the GCS and S3 clients stay in chunks loaded only when used), a
// Node 20 binary (the one running this script, or $MOLT_NODE_BINARY; stripped), collect.sh and
// busybox-static for the :debug variant.
// Run it after `pnpm build`.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const here = dirname(new URL(import.meta.url).pathname);
const repo = resolve(here, "..", "..");
const out = resolve(process.argv[2] ?? join(repo, ".cache", "executor-context"));
const cliDist = join(repo, "packages", "cli", "dist", "bin.js");
if (!existsSync(cliDist)) throw new Error(`${cliDist} is missing: run pnpm build first`);

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "molt", "dist"), { recursive: true });
const require = createRequire(join(repo, "package.json"));
const rolldownCli = join(dirname(require.resolve("rolldown/package.json")), "bin", "cli.mjs");
const r = spawnSync(
  process.execPath,
  [
    rolldownCli,
    cliDist,
    "--platform",
    "node",
    "--format",
    "esm",
    "-d",
    join(out, "molt", "dist"),
    "--minify",
  ],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (r.status !== 0) throw new Error(`rolldown failed (${r.status})`);
const pkg = JSON.parse(readFileSync(join(repo, "packages", "cli", "package.json"), "utf8"));
writeFileSync(
  join(out, "molt", "package.json"),
  `${JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", license: pkg.license }, null, 2)}\n`,
);
// The entry point the image puts on PATH: node with the bundle (no /usr/bin/env lookup needed).
writeFileSync(join(out, "molt-bin"), '#!/usr/local/bin/node\nimport "/opt/molt/dist/bin.js";\n');
chmodSync(join(out, "molt-bin"), 0o755);
const node = process.env.MOLT_NODE_BINARY ?? process.execPath;
const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
if (!/^v20\./.test(version)) throw new Error(`${node} is Node ${version}; the executor image ships Node 20`);
// Debug sections are no use in the image: strip them when binutils is here (86 MB instead of 99).
const stripped = spawnSync("strip", ["-o", join(out, "node"), node], { stdio: "ignore" });
if (stripped.status !== 0) copyFileSync(node, join(out, "node"));
chmodSync(join(out, "node"), 0o755);
// busybox-static for the :debug variant (Dockerfile.debug).
if (existsSync("/bin/busybox")) copyFileSync("/bin/busybox", join(out, "busybox"));
copyFileSync(join(here, "collect.sh"), join(out, "collect.sh"));
copyFileSync(join(here, "Dockerfile"), join(out, "Dockerfile"));
copyFileSync(join(here, "Dockerfile.debug"), join(out, "Dockerfile.debug"));
console.log(out);
