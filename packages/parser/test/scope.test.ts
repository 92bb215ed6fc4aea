// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import { describe, expect, it } from "vitest";
import { expandStages, parseDockerfile } from "../src/index.js";

describe("expandStages (ARG/ENV scope)", () => {
  it("meta ARGs are visible in FROM only until re-declared in the stage", () => {
    const df = parseDockerfile("ARG V=1\nFROM a:$V\nWORKDIR /x$V\nARG V\nWORKDIR /y$V\n");
    const [s] = expandStages(df);
    expect(s!.from.image).toBe("a:1");
    expect(s!.instructions.map((i) => (i.kind === "WORKDIR" ? i.path : i.kind))).toEqual([
      "/x",
      "ARG",
      "/y1",
    ]);
  });

  it("build args override ARG defaults and meta values", () => {
    const df = parseDockerfile("ARG V=1\nFROM a\nARG V\nARG W=2\nLABEL v=$V w=$W\n");
    const [s] = expandStages(df, { buildArgs: { V: "9", W: "8" } });
    expect(s!.instructions[2]).toMatchObject({ pairs: [{ value: "9" }, { value: "8" }] });
    expect(s!.args).toEqual({ V: "9", W: "8" });
  });

  it("ENV wins over ARG; ENV pairs see the values from before the instruction", () => {
    const df = parseDockerfile("FROM a\nARG X=arg\nENV X=env Y=$X\nENV Z=$X\n");
    const [s] = expandStages(df);
    expect(s!.instructions[1]).toMatchObject({ pairs: [{ value: "env" }, { value: "arg" }] });
    expect(s!.instructions[2]).toMatchObject({ pairs: [{ value: "env" }] });
    expect(s!.env).toEqual({ X: "env", Y: "arg", Z: "env" });
  });

  it("a stage inherits the ARG and ENV of the stage it is based on", () => {
    const df = parseDockerfile(
      "FROM a AS base\nARG A=1\nENV E=2\nFROM base\nWORKDIR /$A/$E\nFROM a\nWORKDIR /$A/$E\n",
    );
    const stages = expandStages(df);
    expect(stages[1]!.instructions[0]).toMatchObject({ path: "/1/2" });
    expect(stages[2]!.instructions[0]).toMatchObject({ path: "//" });
  });

  it("predefined platform args need ARG inside a stage", () => {
    const df = parseDockerfile(
      "FROM a\nWORKDIR /$TARGETARCH\nARG TARGETARCH TARGETPLATFORM\nWORKDIR /$TARGETARCH/$TARGETPLATFORM\n",
    );
    const [s] = expandStages(df, { platform: { os: "linux", architecture: "arm64" } });
    expect(s!.instructions[0]).toMatchObject({ path: "/" });
    expect(s!.instructions[2]).toMatchObject({ path: "/arm64/linux/arm64" });
  });

  it("RUN keeps its command text; mounts expand", () => {
    const df = parseDockerfile("FROM a\nARG C=/cache\nRUN --mount=type=cache,target=${C} echo $C\n");
    const [s] = expandStages(df);
    expect(s!.instructions[1]).toMatchObject({ command: "echo $C", mounts: [{ target: "/cache" }] });
  });
});
