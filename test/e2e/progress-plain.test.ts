import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { molt } from "../harness/molt-cli.js";

// --progress=plain beyond progress-output.test.ts: cached steps, pushes with their sizes,
// parallel stages interleaving by step id, and what -v debug and trace add.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-progress-plain-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The environment without DEBUG, so only -v turns molt's debug namespaces on. */
function env(): NodeJS.ProcessEnv {
  const { DEBUG: _debug, ...rest } = process.env;
  return rest;
}

/** Timings, sizes, entry counts, digests and the registry's address masked; the runner line dropped. */
function mask(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !l.startsWith("runner "))
    .join("\n")
    .replaceAll(registry, "REGISTRY")
    .replaceAll(dir, "DIR")
    .replace(/sha256:[0-9a-f]{12,64}/g, "sha256:<digest>")
    .replace(/^(#\d+) \d+\.\d{3} /gm, "$1 T.TTT ")
    .replace(/\b\d+\.\ds\b/g, "T.Ts")
    .replace(/\b\d+(\.\d+)?(B|kB|MB|GB)\b/g, "SIZE")
    .replace(/\b\d+ entries\b/g, "N entries");
}

describe("--progress=plain", () => {
  test("a rebuild from --cache-dir that pushes (golden): CACHED steps, pushed blobs with sizes, the manifest, the digest line", async () => {
    const ctx = await writeContext(
      join(dir, "cached"),
      `FROM ${BASE}\nCOPY hello.txt /hello.txt\nRUN echo built > /built\n`,
      {
        "hello.txt": "hello\n",
      },
    );
    const args = (tag: string) => [
      "build",
      "-c",
      ctx,
      "-d",
      `${registry}/progress/plain:${tag}`,
      "--insecure",
      "--insecure-pull",
      "--cache-dir",
      join(dir, "cache"),
      "--progress=plain",
      "-j",
      "1",
    ];
    const first = await molt(args("1"), { env: env() });
    expect(first.code, first.stderr).toBe(0);
    // The first build missed and says why, then pushed every blob with its size.
    expect(first.stderr).toMatch(/^#3 cache miss: /m);
    expect(first.stderr).toMatch(/^#4 cache miss: /m);
    expect(mask(first.stderr)).toMatch(/^#5 pushing sha256:<digest> SIZE \/ SIZE T\.Ts done$/m);
    const again = await molt(args("2"), { env: env() });
    expect(again.code, again.stderr).toBe(0);
    // The blobs are pushed at once, so their lines come in any order: sorted here.
    const blobLines = (t: string) => t.split("\n").filter((l) => /^#5 (pushing )?sha256:<digest> /.test(l));
    const masked = mask(again.stderr);
    const sorted = blobLines(masked).sort();
    let k = 0;
    const inOrder = masked
      .split("\n")
      .map((l) => (/^#5 (pushing )?sha256:<digest> /.test(l) ? sorted[k++]! : l))
      .join("\n");
    // Three layers are there already (base, COPY, RUN); the config is new (its created time is).
    expect(inOrder).toBe(
      [
        "#1 [internal] load build context",
        "#1 DONE T.Ts",
        "",
        "#2 [1/3] FROM REGISTRY/test/busybox:latest",
        "#2 resolve REGISTRY/test/busybox:latest@sha256:<digest> done",
        "#2 DONE T.Ts",
        "",
        "#3 [2/3] COPY hello.txt /hello.txt",
        "#3 CACHED",
        "",
        "#4 [3/3] RUN echo built > /built",
        "#4 CACHED",
        "",
        "#5 pushing REGISTRY/progress/plain:2",
        "#5 pushing sha256:<digest> SIZE / SIZE T.Ts done",
        "#5 sha256:<digest> already exists",
        "#5 sha256:<digest> already exists",
        "#5 sha256:<digest> already exists",
        "#5 pushing manifest for REGISTRY/progress/plain:2@sha256:<digest> done",
        "#5 DONE T.Ts",
        "",
        `built ${again.stdout.trim().replace(/sha256:[0-9a-f]+/, "sha256:<digest>")} in T.Ts`,
        "",
      ].join("\n"),
    );
  });

  test("parallel stages interleave by step id: every log line carries its own step's id", async () => {
    const loop = (s: string) => `for i in 1 2 3 4 5; do echo ${s}-$i; sleep 0.2; done`;
    const ctx = await writeContext(
      join(dir, "interleave"),
      [
        `FROM ${BASE} AS a`,
        `RUN ${loop("a")}`,
        `FROM ${BASE} AS b`,
        `RUN ${loop("b")}`,
        "FROM scratch",
        "COPY --from=a /etc/passwd /a",
        "COPY --from=b /etc/passwd /b",
        "",
      ].join("\n"),
    );
    const r = await molt(
      ["build", "-c", ctx, "--no-push", "--insecure-pull", "--progress=plain", "-j", "4"],
      {
        env: env(),
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split("\n");
    const id = (name: string) => Number(/^#(\d+) /.exec(lines.find((l) => l.endsWith(name))!)![1]);
    const ids = { a: id(`[a 2/2] RUN ${loop("a")}`), b: id(`[b 2/2] RUN ${loop("b")}`) };
    const logged = lines.flatMap((l) => {
      const m = /^#(\d+) \d+\.\d{3} ([ab])-(\d)$/.exec(l);
      return m ? [{ step: Number(m[1]), stage: m[2] as "a" | "b", n: Number(m[3]) }] : [];
    });
    // All ten lines, each under its stage's RUN step, in order within the stage.
    for (const s of ["a", "b"] as const) {
      const own = logged.filter((x) => x.stage === s);
      expect(own.map((x) => x.n)).toEqual([1, 2, 3, 4, 5]);
      for (const x of own) expect(x.step).toBe(ids[s]);
    }
    // They did interleave: a line of b comes between two lines of a (else this shows nothing).
    const order = logged.map((x) => x.stage).join("");
    expect(order).toMatch(/a+b+a/);
    // A blank line separates the lines of different steps.
    for (let i = 1; i < lines.length; i++) {
      const [prev, cur] = [/^#(\d+) /.exec(lines[i - 1]!)?.[1], /^#(\d+) /.exec(lines[i]!)?.[1]];
      if (prev && cur) expect(prev, `${lines[i - 1]}\n${lines[i]}`).toBe(cur);
    }
  });

  test("a failing stage in a parallel build: its step's ERROR line, the sibling CANCELED, the error names the failing step", async () => {
    const ctx = await writeContext(
      join(dir, "parallel-fail"),
      [
        `FROM ${BASE} AS long`,
        "RUN sleep 30",
        `FROM ${BASE} AS broken`,
        "RUN sleep 1 && exit 3",
        "FROM scratch",
        "COPY --from=long /etc/passwd /a",
        "COPY --from=broken /etc/passwd /b",
        "",
      ].join("\n"),
    );
    const started = Date.now();
    const r = await molt(
      ["build", "-c", ctx, "--no-push", "--insecure-pull", "--progress=plain", "-j", "4"],
      {
        env: env(),
      },
    );
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const lines = r.stderr.split("\n");
    const id = (name: string) => /^#(\d+) /.exec(lines.find((l) => l.endsWith(name)) ?? "")?.[1];
    const [long, broken] = [id("[long 2/2] RUN sleep 30"), id("[broken 2/2] RUN sleep 1 && exit 3")];
    expect(long && broken).toBeTruthy();
    expect(lines).toContain(
      `#${broken} ERROR: process "/bin/sh -c sleep 1 && exit 3" did not complete successfully: exit code 3`,
    );
    expect(lines).toContain(`#${long} CANCELED`);
    expect(lines.filter((l) => / ERROR: /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => l !== "").at(-1)).toBe(
      "molt: error: Dockerfile:4:1: RUN sleep 1 && exit 3 exited with code 3 [MOLT_RUN_FAILED]",
    );
  });

  test("a 100,000-character line (more than one event holds) is printed whole, on one line", async () => {
    const ctx = await writeContext(
      join(dir, "long"),
      `FROM ${BASE}\nRUN echo before && head -c 100000 /dev/zero | tr '\\0' x && echo && echo after\n`,
    );
    const r = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull", "--progress=plain"], {
      env: env(),
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const logged = r.stderr
      .split("\n")
      .filter((l) => /^#3 \d+\.\d{3} /.test(l))
      .map((l) => l.replace(/^#3 \d+\.\d{3} /, ""));
    expect(logged).toEqual(["before", "x".repeat(100_000), "after"]);
    // The line did come in pieces (else this shows nothing): the JSON events say so.
    const json = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull", "--progress=json"], {
      env: env(),
    });
    const pieces = json.stderr
      .split("\n")
      .filter((l) => l.includes('"type":"molt:step:log"'))
      .map((l) => JSON.parse(l) as { lines: string[]; partial?: boolean });
    expect(pieces.some((p) => p.partial)).toBe(true);
  });

  test("-v debug adds molt's debug namespaces (without DEBUG set), -v trace the frequent events too; info shows neither", async () => {
    const ctx = await writeContext(join(dir, "levels"), `FROM ${BASE}\nRUN echo hi > /hi\n`);
    const build = (level: string) =>
      molt(["build", "-c", ctx, "--no-push", "--insecure-pull", "--progress=plain", "-v", level], {
        env: env(),
      });
    const [info, debug, trace] = [await build("info"), await build("debug"), await build("trace")];
    for (const r of [info, debug, trace]) expect(r.code, r.stderr).toBe(0);
    const debugLine = /^\S* ?molt:[a-z-]+ /m;
    expect(info.stderr).not.toMatch(debugLine);
    expect(debug.stderr).toMatch(debugLine);
    expect(debug.stderr).toMatch(/^#\d+ snapshot \((walk|overlay)\): \d+ changes/m);
    expect(debug.stderr).not.toMatch(/^#\d+ molt:layer:planned /m);
    expect(trace.stderr).toMatch(debugLine);
    expect(trace.stderr).toMatch(/^#\d+ molt:layer:planned \{/m);
    expect(info.stderr).not.toMatch(/molt:layer:planned|snapshot \(/);
  });
});
