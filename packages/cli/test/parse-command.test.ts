// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommand } from "../src/commands/parse.js";

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

async function run(argv: string[], cwd: string, stdinText?: string) {
  const out = sink();
  const err = sink();
  const io = {
    stdout: out.stream,
    stderr: err.stream,
    cwd,
    ...(stdinText !== undefined ? { stdin: Readable.from([Buffer.from(stdinText)]) } : {}),
  };
  const code = await parseCommand(argv, io);
  return { code, stdout: out.text(), stderr: err.text() };
}

const DOCKERFILE = [
  "# syntax=docker/dockerfile:1",
  "ARG GO=1.22",
  "FROM golang:${GO} AS build",
  "ARG APP=/src",
  "WORKDIR $APP",
  "RUN --mount=type=cache,target=/root/.cache go build -o /out/app",
  "FROM alpine AS unused",
  "FROM scratch",
  "COPY --from=build /out/app /app",
  'ENTRYPOINT ["/app"]',
  "",
].join("\n");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-parse-"));
  await writeFile(join(dir, "Dockerfile"), DOCKERFILE);
  await writeFile(join(dir, "Bad.Dockerfile"), "FROM alpine\nRUN echo ok\nCOPPY a b\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("molt parse", () => {
  it("--json prints the documented document with expansion applied", async () => {
    const r = await run(["--json", "--build-arg", "GO=1.23", "--build-arg=APP=/work"], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout);
    expect(doc.version).toBe(1);
    expect(doc.file).toBe("Dockerfile");
    expect(doc.directives).toEqual({ escape: "\\", syntax: "docker/dockerfile:1" });
    expect(doc.syntax.nodes).toHaveLength(10);
    expect(doc.syntax.nodes.map((n: { raw: string }) => n.raw).join("")).toBe(DOCKERFILE);
    expect(doc.stages.map((s: { name: string | null }) => s.name)).toEqual(["build", "unused", null]);
    expect(doc.stages[0].from.image).toBe("golang:1.23");
    expect(doc.stages[0].instructions[1]).toMatchObject({ kind: "WORKDIR", path: "/work" });
    expect(doc.plan.target).toBe(2);
    expect(doc.plan.stages).toEqual([
      {
        index: 0,
        name: "build",
        baseImage: "golang:1.23",
        baseStage: null,
        platform: null,
        dependsOn: [],
        externalImages: [],
      },
      {
        index: 2,
        name: null,
        baseImage: "scratch",
        baseStage: null,
        platform: null,
        dependsOn: [0],
        externalImages: [],
      },
    ]);
    expect(doc.warnings).toEqual([]);
  });

  it("--target selects the needed stages", async () => {
    const r = await run(["--json", "--target", "unused"], dir);
    const doc = JSON.parse(r.stdout);
    expect(doc.plan.stages.map((s: { index: number }) => s.index)).toEqual([1]);
  });

  it("prints a human report: tree, expanded stages, build order, warnings", async () => {
    const r = await run(["-f", "Dockerfile"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("syntax tree:");
    expect(r.stdout).toContain('  3:1-3:27      FROM "golang:${GO} AS build"');
    expect(r.stdout).toContain('WORKDIR "/src"');
    expect(r.stdout).toContain("[1] unused (not needed): FROM alpine AS unused");
    expect(r.stdout).toContain("build order for target 2:");
    expect(r.stdout).toContain("[2] from scratch, needs 0");
    expect(r.stdout).toContain("warnings: 0");
  });

  it("reads stdin with -f - and reports warnings", async () => {
    const r = await run(["-f", "-"], dir, "FROM a\nMAINTAINER me\nCMD run\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("<stdin>:2:1: MaintainerDeprecated:");
    expect(r.stdout).toContain("<stdin>:3:1: JSONArgsRecommended:");
  });

  it("exits 1 with the rendered error (line and column) on a bad Dockerfile", async () => {
    const r = await run(["-f", "Bad.Dockerfile"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Bad.Dockerfile:3:1: unknown instruction: COPPY (did you mean COPY?)");
    expect(r.stderr).toContain(" >>> 3 | COPPY a b");
  });

  it("--json puts the error in the document too", async () => {
    const r = await run(["--json", "-f", "Bad.Dockerfile"], dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: "MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION",
      file: "Bad.Dockerfile",
      line: 3,
      column: 1,
    });
  });

  it("an unknown target is an error", async () => {
    const r = await run(["--target", "nope"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('target stage "nope" could not be found');
  });

  it("a missing file exits 1; a bad flag exits 2 with usage", async () => {
    expect((await run(["-f", "missing"], dir)).code).toBe(1);
    const bad = await run(["--bogus"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("usage: molt parse");
  });
});
