import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { EVENT_TYPES } from "../../packages/core/test/event-types.js";
import { writeContext } from "../harness/context-dir.js";
import { molt } from "../harness/molt-cli.js";
import { tmuxTerminal } from "../harness/tmux.js";

const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-progress-out-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const context = (name: string, dockerfile: string, files: Record<string, string> = {}): Promise<string> =>
  writeContext(join(dir, name), dockerfile, files);

/**
 * Timings, sizes, entry counts and digests masked; the chosen runner's line (which depends on
 * the machine) dropped; the registry's address named.
 */
function mask(stderr: string, layout: string): string {
  return stderr
    .split("\n")
    .filter((l) => !l.startsWith("runner "))
    .join("\n")
    .replaceAll(registry, "REGISTRY")
    .replaceAll(layout, "LAYOUT")
    .replace(/sha256:[0-9a-f]{12,64}/g, "sha256:<digest>")
    .replace(/^(#\d+) \d+\.\d{3} /gm, "$1 T.TTT ")
    .replace(/\b\d+\.\ds\b/g, "T.Ts")
    .replace(/\b\d+(\.\d+)?(B|kB|MB|GB)\b/g, "SIZE")
    .replace(/\b\d+ entries\b/g, "N entries");
}

describe("--progress=plain: BuildKit's lines", () => {
  test("a successful build (golden, written from BuildKit's plain format)", async () => {
    const ctx = await context(
      "plain-ok",
      `FROM ${BASE}\nCOPY hello.txt /hello.txt\nRUN echo one && echo two >&2\nENV A=1\n`,
      { "hello.txt": "hello\n" },
    );
    const layout = join(dir, "plain-ok-layout");
    const r = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--oci-layout-path",
      layout,
      "--insecure-pull",
      "--progress=plain",
      "-j",
      "1",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(mask(r.stderr, layout)).toBe(
      [
        "#1 [internal] load build context",
        "#1 DONE T.Ts",
        "",
        "#2 [1/4] FROM REGISTRY/test/busybox:latest",
        "#2 resolve REGISTRY/test/busybox:latest@sha256:<digest> done",
        "#2 DONE T.Ts",
        "",
        "#3 [2/4] COPY hello.txt /hello.txt",
        "#3 sha256:<digest> SIZE / SIZE T.Ts done",
        "#3 extracting layer 1 (N entries, SIZE) T.Ts done",
        "#3 transferring context: 1 file, SIZE done",
        "#3 writing layer sha256:<digest> SIZE, N entries done",
        "#3 DONE T.Ts",
        "",
        "#4 [3/4] RUN echo one && echo two >&2",
        "#4 T.TTT one",
        "#4 T.TTT two",
        "#4 DONE T.Ts",
        "",
        "#5 [4/4] ENV A=1",
        "#5 DONE T.Ts",
        "",
        "#6 exporting to OCI layout LAYOUT",
        "#6 writing oci-layout LAYOUT done",
        "#6 DONE T.Ts",
        "",
        "built sha256:<digest> in T.Ts",
        "",
      ].join("\n"),
    );
    // The last line names the digest stdout carries.
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe(
      `built ${r.stdout.trim()} in ${/in (\d+\.\ds)$/.exec(r.stderr.trimEnd())![1]}`,
    );
  });

  test("a failing RUN (golden): its logs, BuildKit's ERROR line, then molt's one-line error", async () => {
    const ctx = await context("plain-fail", `FROM ${BASE}\nRUN echo failing && exit 2\n`);
    const layout = join(dir, "plain-fail-layout");
    const r = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--oci-layout-path",
      layout,
      "--insecure-pull",
      "--progress=plain",
    ]);
    expect(r.code).toBe(1);
    expect(mask(r.stderr, layout)).toBe(
      [
        "#1 [internal] load build context",
        "#1 DONE T.Ts",
        "",
        "#2 [1/2] FROM REGISTRY/test/busybox:latest",
        "#2 resolve REGISTRY/test/busybox:latest@sha256:<digest> done",
        "#2 DONE T.Ts",
        "",
        "#3 [2/2] RUN echo failing && exit 2",
        "#3 sha256:<digest> SIZE / SIZE T.Ts done",
        "#3 extracting layer 1 (N entries, SIZE) T.Ts done",
        "#3 T.TTT failing",
        '#3 ERROR: process "/bin/sh -c echo failing && exit 2" did not complete successfully: exit code 2',
        "molt: error: Dockerfile:2:1: RUN echo failing && exit 2 exited with code 2 [MOLT_RUN_FAILED]",
        "",
      ].join("\n"),
    );
  });

  test("kaniko's --log-timestamp prefixes every line with the time; -v error shows only the failure; a bad level is a usage error", async () => {
    const ctx = await context("plain-ts", `FROM ${BASE}\nRUN echo hi\n`);
    const layout = join(dir, "plain-ts-layout");
    const r = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--oci-layout-path",
      layout,
      "--insecure-pull",
      "--log-format=text",
      "--log-timestamp",
    ]);
    expect(r.code).toBe(0);
    for (const line of r.stderr
      .trimEnd()
      .split("\n")
      .filter((l) => l !== ""))
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (#\d+ |built )/);
    const quiet = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--oci-layout-path",
      layout,
      "--insecure-pull",
      "-v",
      "error",
    ]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    const bad = await molt(["build", "-c", ctx, "--no-push", "-v", "loud"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/verbosity/);
    expect(bad.stderr).toMatch(/^usage: molt build /m);
  });
});

describe("--progress=json: one event per line", () => {
  test("every stderr line is a versioned event of the union; the last is the build's end", async () => {
    const ctx = await context("json-ok", `FROM ${BASE}\nRUN echo hi from json\n`);
    const layout = join(dir, "json-layout");
    const r = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--oci-layout-path",
      layout,
      "--insecure-pull",
      "--progress=json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines) {
      expect(l.v).toBe(2);
      expect(typeof l.time === "string" && !Number.isNaN(Date.parse(l.time))).toBe(true);
      expect(l.type).toMatch(/^molt:[a-z]+:[a-z-]+$/);
      // A member of the union as typed in @molt/core (the JSON carries no other kind of line).
      expect(Object.hasOwn(EVENT_TYPES, l.type as string), String(l.type)).toBe(true);
    }
    expect(lines.find((l) => l.type === "molt:step:log")).toMatchObject({
      stream: "stdout",
      lines: ["hi from json"],
    });
    const starts = lines.filter((l) => l.type === "molt:step:start").map((l) => l.name);
    expect(starts).toEqual([
      "[internal] load build context",
      `[1/2] FROM ${BASE}`,
      "[2/2] RUN echo hi from json",
      `exporting to OCI layout ${layout}`,
    ]);
    expect(lines.at(-1)).toMatchObject({ type: "molt:build:done", digest: r.stdout.trim() });
  });

  test("a failed build ends with a molt:build:error line and nothing after it", async () => {
    const ctx = await context("json-fail", `FROM ${BASE}\nRUN exit 4\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull", "--log-format=json"]);
    expect(r.code).toBe(1);
    const lines = r.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.type === "molt:step:error")).toMatchObject({
      exitCode: 4,
      code: "MOLT_RUN_FAILED",
    });
    expect(lines.at(-1)).toMatchObject({ type: "molt:build:error", code: "MOLT_RUN_FAILED", v: 2 });
    // The build's own event, written once (not again by the CLI when the build rejects).
    expect(lines.filter((l) => l.type === "molt:build:error")).toHaveLength(1);
    expect(lines.at(-1)?.durationMs).toEqual(expect.any(Number));
  });
});

describe("--progress=tty: the live view, captured from a real terminal (tmux)", () => {
  const term = tmuxTerminal("progress-output");
  const { start, waitFor } = term;
  afterAll(() => term.close());

  test("running steps show their last log lines, finished steps collapse to one line", async () => {
    const ctx = await context(
      "tty-ok",
      `FROM ${BASE}\nRUN echo started && sleep 3 && echo finished\nENV A=1\n`,
    );
    const layout = join(dir, "tty-layout");
    await start("ok", ["-c", ctx, "--no-push", "--oci-layout-path", layout, "--insecure-pull"]); // auto: a terminal
    const live = await waitFor("ok", (t) => t.includes("=> => # started"));
    expect(live).toMatch(/^\[\+\] Building \d+\.\ds \(\d+\/\d+\)$/m);
    expect(live).toMatch(/^ => \[2\/3\] RUN echo started && sleep 3 && echo finished +\d+\.\ds$/m);
    expect(live).toMatch(/^ => \[1\/3\] FROM .*test\/busybox:latest +\d+\.\ds$/m);
    const end = await waitFor("ok", (t) => t.includes("EXIT="));
    expect(end).toContain("EXIT=0");
    expect(end).toMatch(/^ => \[2\/3\] RUN echo started && sleep 3 && echo finished +\d+\.\ds$/m);
    expect(end).toMatch(/^ => \[3\/3\] ENV A=1 +\d+\.\ds$/m);
    expect(end).toMatch(/^\[\+\] Building \d+\.\ds \(5\/5\) FINISHED$/m);
    expect(end).toMatch(/^built sha256:[0-9a-f]{64} in \d+\.\ds$/m);
    // The live log lines are gone: the finished step collapsed.
    expect(end).not.toContain("=> => #");
    // Each step appears once: redraws replaced the view instead of appending to it.
    expect(end.split("\n").filter((l) => l.includes("RUN echo started"))).toHaveLength(1);
  });

  test("a failed step's whole log is printed after the view", async () => {
    const lines = Array.from({ length: 12 }, (_, i) => `line-${i + 1}`);
    const ctx = await context(
      "tty-fail",
      `FROM ${BASE}\nRUN for i in ${lines.map((_, i) => i + 1).join(" ")}; do echo line-$i; done; exit 5\n`,
    );
    await start("fail", ["-c", ctx, "--no-push", "--insecure-pull", "--progress=tty"]);
    const end = await waitFor("fail", (t) => t.includes("EXIT="));
    expect(end).toContain("EXIT=1");
    expect(end).toMatch(/^ => ERROR \[2\/2\] RUN for i in .* +\d+\.\ds$/m);
    const report = end.slice(end.indexOf("------"));
    expect(report.split("\n").slice(0, 2 + lines.length)).toEqual([
      "------",
      expect.stringMatching(/^ > \[2\/2\] RUN for i in /),
      ...lines,
    ]);
    expect(report).toContain('process "/bin/sh -c for i in');
    expect(report).toContain("exit code 5");
  });
});
