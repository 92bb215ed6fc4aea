import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { type RunningDockerd, startDockerd } from "../harness/dockerd.js";
import { run } from "../harness/exec.js";
import { type HttpFiles, serveFiles } from "../harness/http-files.js";
import { requireBinary } from "../harness/registry.js";
import { pushConformanceBases } from "./bases.js";
import { ALL_CASES } from "./cases/index.js";
import { judge, type Verdict } from "./judge.js";
import { type CaseOutcomes, OUTCOME_CACHE, startAll } from "./run-cases.js";

// The differential suite (issue 14): every case is built by molt (in-process), buildah 1.28 and
// Docker 20.10's BuildKit; trees and runtime configs must be identical except for the reviewed
// entries of expected-differences.ts and known-wrong.ts. CONFORM_CASES=regex runs a subset.
const registry = inject("registry");
const only = process.env.CONFORM_CASES ? new RegExp(process.env.CONFORM_CASES) : undefined;
const cases = ALL_CASES.filter((k) => !only || only.test(k.name));

let dockerd: RunningDockerd | undefined;
let http: HttpFiles | undefined;
let dir: string;
let results: Map<string, Promise<CaseOutcomes>>;
const verdicts = new Map<string, Verdict & { ms: CaseOutcomes["ms"] }>();
const started = Date.now();

beforeAll(async () => {
  requireBinary("buildah", "Debian package buildah");
  requireBinary("skopeo", "Debian package skopeo");
  dir = await mkdtemp(join(tmpdir(), "molt-conform-"));
  dockerd = await startDockerd([registry]);
  const pushed = await pushConformanceBases(registry);
  const identity = pushed.identity;
  // files for ADD <url>: a text file and a tar (which ADD must not unpack when fetched)
  await mkdir(join(dir, "tarsrc"), { recursive: true });
  await writeFile(join(dir, "tarsrc", "inside.txt"), "inside\n");
  const tar = join(dir, "archive.tar");
  await run("tar", [
    "-cf",
    tar,
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    "--mtime=2020-01-01",
    "-C",
    join(dir, "tarsrc"),
    "inside.txt",
  ]);
  http = await serveFiles({
    "/files/hello.txt": "hello from http\n",
    "/files/archive.tar": await readFile(tar),
  });
  const bases = { ...pushed.bases, http: http.url, multi: `${registry}/test/busybox:multi` };
  const versions = [
    (await run("buildah", ["--version"])).stdout.trim(),
    (await run("dockerd", ["--version"])).stdout.trim(),
  ].join(";");
  await mkdir(join(dir, "tmp"), { recursive: true });
  results = startAll(cases, {
    bases,
    identity: `${identity};${versions}`,
    dockerd,
    buildahRoot: join(dir, "buildah"),
    work: join(dir, "work"),
    tmp: join(dir, "tmp"),
  });
}, 180_000);

afterAll(async () => {
  if (results) await Promise.allSettled(results.values());
  await dockerd?.stop();
  await http?.close();
  if (dir) {
    const g = ["--root", join(dir, "buildah", "storage"), "--runroot", join(dir, "buildah", "run")];
    await run("buildah", [...g, "--storage-driver", "vfs", "rm", "--all"], { allowFail: true });
    await rm(dir, { recursive: true, force: true });
  }
  const tally = { identical: 0, expected: 0, wrong: 0 };
  for (const v of verdicts.values()) tally[v.kind]++;
  const report = {
    cases: verdicts.size,
    tally,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    expected: Object.fromEntries(
      [...verdicts].filter(([, v]) => v.kind === "expected").map(([n, v]) => [n, v.expected]),
    ),
    wrong: Object.fromEntries(
      [...verdicts]
        .filter(([, v]) => v.kind === "wrong")
        .map(([n, v]) => [n, [...v.knownWrong, ...v.unexpected]]),
    ),
    ms: Object.fromEntries([...verdicts].map(([n, v]) => [n, v.ms])),
  };
  await mkdir(OUTCOME_CACHE, { recursive: true });
  await writeFile(join(OUTCOME_CACHE, "last-run.json"), JSON.stringify(report, null, 2));
  process.stdout.write(
    `\nconformance: ${verdicts.size} cases: ${tally.identical} identical, ${tally.expected} expected difference, ${tally.wrong} wrong (${report.wallSeconds} s; report in .cache/conformance/last-run.json)\n`,
  );
}, 600_000);

describe("conformance: molt vs buildah and BuildKit", () => {
  for (const k of cases) {
    test(k.name, async () => {
      const r = await results.get(k.name)!;
      const v = judge(k, r);
      verdicts.set(k.name, { ...v, ms: r.ms });
      expect(v.unexpected, `${k.about}\n${k.dockerfile}`).toEqual([]);
    }, 900_000);
  }
});
