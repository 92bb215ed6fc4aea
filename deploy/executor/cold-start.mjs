#!/usr/bin/env node
// Cold start of executor images side by side, in one run (the machine's load moves, so compare
// the ratio, not the milliseconds across runs):
//   node deploy/executor/cold-start.mjs ROUNDS oci:LAYOUT_A:TAG oci:LAYOUT_B:TAG ...
// Each image is loaded into a private podman (vfs storage under $TMPDIR, as test/harness/podman.ts
// sets it up), then every round runs each image once, interleaved, as the suite does: `podman run
// --rm -i IMAGE -c tar://stdin --no-push` with examples/hello on stdin. It prints, per image, the
// median milliseconds from `podman run` to molt's first STEP line and to the container's exit, the
// ratio to the first image, and the resident memory of a bare `node -e` in the image (a packed
// Node holds its whole unpacked binary as private memory). `uptime` is printed before and after.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const [roundsArg, ...refs] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!rounds || refs.length === 0) throw new Error("usage: cold-start.mjs ROUNDS oci:DIR:TAG ...");
const repo = resolve(dirname(new URL(import.meta.url).pathname), "..", "..");
const dir = mkdtempSync(join(tmpdir(), "molt-cold-start-"));
const conf = join(dir, "containers.conf");
writeFileSync(conf, "[containers]\ndefault_ulimits = []\n");
const env = { ...process.env, CONTAINERS_CONF: conf };
const base = [
  "--storage-driver",
  "vfs",
  "--root",
  join(dir, "root"),
  "--runroot",
  join(dir, "runroot"),
  "--tmpdir",
  join(dir, "tmp"),
  "--cgroup-manager",
  "cgroupfs",
  "--runtime",
  "runc",
];
const podman = (args) => execFileSync("podman", [...base, ...args], { env, encoding: "utf8" });
const tarball = execFileSync("tar", ["-C", join(repo, "examples", "hello"), "-cf", "-", "."]);

function once(ref) {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(
      "podman",
      [...base, "run", "--rm", "-i", "--network", "none", ref, "-c", "tar://stdin", "--no-push"],
      {
        env,
        stdio: ["pipe", "ignore", "pipe"],
      },
    );
    let err = "";
    let first;
    child.stderr.on("data", (d) => {
      err += d;
      if (first === undefined && /^(STEP |#\d+ \[\d+\/\d+\])/m.test(err)) first = ms();
    });
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0 ? done({ first, total: ms() }) : fail(new Error(`${ref}: exit ${code}\n${err}`)),
    );
    child.stdin.end(tarball);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const links = [];
try {
  const local = refs.map((r, i) => {
    // podman names an oci: pull after its path, which must be a valid reference: link it first.
    const m = /^oci:(.+):([^:/]+)$/.exec(r);
    if (!m) throw new Error(`${r}: expected oci:DIR:TAG`);
    const link = join(tmpdir(), `molt-cold-start-${process.pid}-${i}`);
    symlinkSync(resolve(m[1]), link);
    links.push(link);
    const id = podman(["pull", "-q", `oci:${link}:${m[2]}`])
      .trim()
      .split("\n")
      .pop();
    const name = `localhost/cold-start/${i}:x`;
    podman(["tag", id, name]);
    return name;
  });
  for (const r of local) await once(r); // warm the page cache once per image
  const seen = local.map(() => ({ first: [], total: [] }));
  console.log(`load before: ${execFileSync("uptime", { encoding: "utf8" }).trim()}`);
  for (let k = 0; k < rounds; k++)
    for (const [i, r] of local.entries()) {
      execFileSync("sync");
      const t = await once(r);
      seen[i].first.push(t.first);
      seen[i].total.push(t.total);
    }
  console.log(`load after:  ${execFileSync("uptime", { encoding: "utf8" }).trim()}`);
  const rss = local.map((r) =>
    podman([
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "/usr/local/bin/node",
      r,
      "-e",
      'const s=require("fs").readFileSync("/proc/self/status","utf8");console.log(s.match(/VmRSS:\\s+(\\d+)/)[1])',
    ]).trim(),
  );
  const ref0 = median(seen[0].first);
  for (const [i, r] of refs.entries())
    console.log(
      `${r}: first STEP ${median(seen[i].first).toFixed(0)} ms (${(median(seen[i].first) / ref0).toFixed(2)}x), ` +
        `exit ${median(seen[i].total).toFixed(0)} ms; ${rounds} rounds, medians; node -e RSS ${(Number(rss[i]) / 1024).toFixed(0)} MB`,
    );
} finally {
  try {
    podman(["system", "reset", "--force"]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  for (const l of links) rmSync(l, { force: true });
}
