#!/usr/bin/env node
// Accounts for every byte of an unpacked executor image: `node size-table.mjs ROOTFS` prints a
// Markdown table, one row per part (Node, the molt bundle, each tool family with the shared
// libraries only it loads, the libraries several parts load, the CA bundle, the rest), and the
// total, which is the sum of the regular files' sizes (`du -sb` counts the same plus directories).
// A library's owner is found from the ELF DT_NEEDED entries (readelf -d), followed through the
// image's own symlinks, so a library two parts load lands in "shared libraries".
import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";

/** Parts of the image, each named by the programs (paths in the image) that make it. */
const PARTS = [
  ["Node 20", ["/usr/local/bin/node"]],
  [
    "git (git, git-remote-http(s), the submodule script with sed, basename, uname)",
    [
      "/usr/bin/git",
      "/usr/lib/git-core/git-remote-http",
      "/usr/lib/git-core/git-submodule",
      "/usr/lib/git-core/git-sh-setup",
      "/usr/lib/git-core/git-sh-i18n",
      "/usr/bin/sed",
      "/usr/bin/basename",
      "/usr/bin/uname",
    ],
  ],
  ["openssh (ssh-agent, ssh-add)", ["/usr/bin/ssh-agent", "/usr/bin/ssh-add"]],
  [
    "util-linux (unshare nsenter setpriv mount umount flock)",
    [
      "/usr/bin/unshare",
      "/usr/bin/nsenter",
      "/usr/bin/setpriv",
      "/usr/bin/mount",
      "/usr/bin/umount",
      "/usr/bin/flock",
    ],
  ],
  ["iproute2 (ip)", ["/usr/bin/ip", "/bin/ip", "/sbin/ip", "/usr/sbin/ip"]],
  [
    "archivers (tar pigz zstd xz bzip2)",
    [
      "/usr/bin/tar",
      "/bin/tar",
      "/usr/bin/pigz",
      "/usr/bin/zstd",
      "/usr/bin/xz",
      "/usr/bin/bzip2",
      "/bin/bzip2",
    ],
  ],
  ["attr (getfattr setfattr)", ["/usr/bin/getfattr", "/usr/bin/setfattr"]],
  [
    "coreutils (env cp touch mknod chown mkdir readlink true rm cat)",
    ["env", "cp", "touch", "mknod", "chown", "mkdir", "readlink", "true", "rm", "cat"].map(
      (p) => `/usr/bin/${p}`,
    ),
  ],
  ["dash (/bin/sh)", ["/usr/bin/dash", "/bin/dash"]],
];
/**
 * Libraries a part loads that readelf cannot see: a UPX-packed Node has no readable dynamic
 * section, so its libraries (the ones collect.sh copies for it) are named here.
 */
const EXTRA_LIBS = {
  "Node 20": ["libstdc++.so.6", "libgcc_s.so.1", "libm.so.6", "libdl.so.2", "libpthread.so.0", "libc.so.6"],
};
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib", "/lib64"];

const root = process.argv[2];
if (!root) throw new Error("usage: size-table.mjs ROOTFS");

/** Resolves an image path through the image's symlinks (absolute ones relative to `root`). */
function resolve(p, depth = 0) {
  if (depth > 40) return undefined;
  let st;
  try {
    st = lstatSync(join(root, p));
  } catch {
    return undefined;
  }
  if (!st.isSymbolicLink()) return p;
  const t = readlinkSync(join(root, p));
  return resolve(t.startsWith("/") ? t : posix.join(posix.dirname(p), t), depth + 1);
}

function needed(p) {
  let out = "";
  try {
    out = execFileSync("readelf", ["-d", join(root, p)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return [];
  }
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

function closure(programs, extraLibs = []) {
  const seen = new Set();
  const todo = programs.map((p) => resolve(p)).filter(Boolean);
  for (const name of extraLibs) {
    const lib = LIB_DIRS.map((d) => resolve(`${d}/${name}`)).find(Boolean);
    if (lib) todo.push(lib);
  }
  while (todo.length) {
    const p = todo.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    for (const name of needed(p)) {
      const lib = LIB_DIRS.map((d) => resolve(`${d}/${name}`)).find(Boolean);
      if (lib) todo.push(lib);
    }
    const interp = resolve("/lib64/ld-linux-x86-64.so.2");
    if (interp && p !== interp && needed(p).length) todo.push(interp);
  }
  return seen;
}

/** Every regular file of the image with its size. */
const files = new Map();
(function walk(d) {
  for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
    const p = posix.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) files.set(p, lstatSync(join(root, p)).size);
  }
})("/");

const owners = new Map(); // file -> set of part names
const programsOf = new Map();
for (const [name, programs] of PARTS) {
  const own = new Set(programs.map((p) => resolve(p)).filter(Boolean));
  programsOf.set(name, own);
  for (const f of closure(programs, EXTRA_LIBS[name])) {
    if (!owners.has(f)) owners.set(f, new Set());
    owners.get(f).add(name);
  }
}
const rows = new Map();
const add = (row, f) => {
  const r = rows.get(row) ?? { bytes: 0, files: [] };
  r.bytes += files.get(f) ?? 0;
  r.files.push(f);
  rows.set(row, r);
};
for (const f of files.keys()) {
  const o = owners.get(f);
  if (f.startsWith("/opt/molt/") || f === "/usr/local/bin/molt") add("molt bundle (/opt/molt, bin/molt)", f);
  else if (f.startsWith("/etc/ssl/")) add("CA bundle", f);
  else if (o && o.size === 1) add([...o][0], f);
  else if (o && o.size > 1) add("shared libraries (loaded by two parts or more)", f);
  else add("other (passwd, group, …)", f);
}
const total = [...files.values()].reduce((a, b) => a + b, 0);
const mb = (n) => (n / 1e6).toFixed(2);
const lines = ["| part | MB | of which the programs | files |", "|---|---:|---:|---:|"];
for (const [name, r] of [...rows].sort((a, b) => b[1].bytes - a[1].bytes)) {
  const own = programsOf.get(name);
  const progBytes = own ? r.files.filter((f) => own.has(f)).reduce((a, f) => a + files.get(f), 0) : r.bytes;
  lines.push(`| ${name} | ${mb(r.bytes)} | ${own ? mb(progBytes) : ""} | ${r.files.length} |`);
}
lines.push(`| **total** (regular files) | **${mb(total)}** | | ${files.size} |`);
const shared = rows.get("shared libraries (loaded by two parts or more)");
if (shared)
  lines.push(
    "",
    `shared libraries: ${shared.files
      .sort((a, b) => files.get(b) - files.get(a))
      .map((f) => `${posix.basename(f)} ${mb(files.get(f))}`)
      .join(", ")}`,
  );
console.log(lines.join("\n"));
