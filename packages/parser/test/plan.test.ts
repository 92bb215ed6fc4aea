// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import { describe, expect, it } from "vitest";
import { parseDockerfile, planBuild } from "../src/index.js";
import { errorOf } from "./helpers.js";

const multi = `ARG GO=1.22
FROM golang:\${GO} AS build
RUN go build
FROM build AS test
RUN go test
FROM alpine AS assets
RUN make assets
FROM scratch AS final
COPY --from=build /app /app
COPY --from=assets /a /a
FROM final AS unused-later
`;

describe("planBuild", () => {
  it("builds only what the target needs, dependencies first", () => {
    const plan = planBuild(parseDockerfile(multi), { target: "final" });
    expect(plan.stages.map((s) => s.stage.name)).toEqual(["build", "assets", "final"]);
    expect(plan.target.stage.name).toBe("final");
    expect(plan.target.dependsOn).toEqual([0, 2]);
    expect(plan.target.baseImage).toBe("scratch");
  });

  it("defaults to the last stage", () => {
    const plan = planBuild(parseDockerfile(multi));
    expect(plan.target.stage.name).toBe("unused-later");
    expect(plan.target.baseStage).toBe(3);
    expect(plan.target.baseImage).toBeUndefined();
    expect(plan.stages.map((s) => s.stage.index)).toEqual([0, 2, 3, 4]);
  });

  it("FROM <stage> links to the earlier stage; target names are case-insensitive", () => {
    const plan = planBuild(parseDockerfile(multi), { target: "TEST" });
    expect(plan.stages.map((s) => s.stage.name)).toEqual(["build", "test"]);
    expect(plan.target.baseStage).toBe(0);
  });

  it("expands FROM with meta ARGs; build args override defaults", () => {
    const df = parseDockerfile(multi);
    expect(planBuild(df, { target: "build" }).target.baseImage).toBe("golang:1.22");
    expect(planBuild(df, { target: "build", buildArgs: { GO: "1.23" } }).target.baseImage).toBe(
      "golang:1.23",
    );
    expect(planBuild(df, { target: "build", buildArgs: { GO: "1.23" } }).metaArgs).toEqual({ GO: "1.23" });
  });

  it("meta ARG defaults may use earlier meta ARGs and the predefined platform args", () => {
    const df = parseDockerfile(
      "ARG REG=docker.io\nARG IMG=${REG}/library/busybox\nFROM --platform=$BUILDPLATFORM ${IMG}:${TARGETARCH}\n",
    );
    const plan = planBuild(df, { platform: { os: "linux", architecture: "arm64", variant: "v8" } });
    expect(plan.target.baseImage).toBe("docker.io/library/busybox:arm64");
    expect(plan.target.platform).toBe("linux/arm64/v8");
  });

  it("a meta ARG without value is empty unless given", () => {
    const df = parseDockerfile("ARG TAG\nFROM busybox${TAG:+:}${TAG}\n");
    expect(planBuild(df).target.baseImage).toBe("busybox");
    expect(planBuild(df, { buildArgs: { TAG: "1.36" } }).target.baseImage).toBe("busybox:1.36");
  });

  it("an undeclared build arg does not reach FROM", () => {
    const df = parseDockerfile("FROM busybox${TAG:+:}${TAG}\n");
    expect(planBuild(df, { buildArgs: { TAG: "x" } }).target.baseImage).toBe("busybox");
  });

  it("a FROM that expands to nothing is an error", () => {
    const e = errorOf(() => planBuild(parseDockerfile("ARG IMG\nFROM $IMG\n")));
    expect(e.code).toBe("MOLT_DOCKERFILE_EXPANSION");
    expect(e.line).toBe(2);
  });

  it("FROM naming a later stage or itself is an image, like BuildKit", () => {
    const plan = planBuild(parseDockerfile("FROM later AS first\nFROM alpine AS later\n"), {
      target: "first",
    });
    expect(plan.target.baseImage).toBe("later");
    expect(plan.stages).toHaveLength(1);
    expect(planBuild(parseDockerfile("FROM me AS me\n")).target.baseImage).toBe("me");
  });

  it("COPY --from accepts a stage index, a stage name in any position, or an image", () => {
    const df = parseDockerfile(
      "FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\nFROM c\nCOPY --from=0 /y /y\nCOPY --from=nginx:1 /z /z\n",
    );
    const plan = planBuild(df);
    expect(plan.target.dependsOn).toEqual([0]);
    expect(plan.target.externalImages).toEqual(["nginx:1"]);
    expect(plan.stages.map((s) => s.stage.index)).toEqual([1, 0, 2]);
  });

  it("RUN --mount from= is a dependency", () => {
    const df = parseDockerfile("FROM a AS tools\nFROM b\nRUN --mount=from=tools,target=/t ls /t\n");
    const plan = planBuild(df);
    expect(plan.target.dependencies).toMatchObject([{ stage: 0, via: "mount" }]);
    expect(plan.stages.map((s) => s.stage.index)).toEqual([0, 1]);
  });

  it("an out-of-range stage index is an error", () => {
    const e = errorOf(() => planBuild(parseDockerfile("FROM a\nCOPY --from=3 /x /x\n")));
    expect(e.code).toBe("MOLT_DOCKERFILE_STAGE");
    expect(e.line).toBe(2);
  });

  it("a stage copying from itself is a cycle", () => {
    const e = errorOf(() =>
      planBuild(parseDockerfile("FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\n")),
    );
    expect(e.code).toBe("MOLT_DOCKERFILE_CYCLE");
    expect(e.reason).toBe("circular dependency detected on stage: stage0");
  });

  it("a cycle through several stages is an error, even when the target does not need it", () => {
    const df = parseDockerfile(
      "FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\nFROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\nFROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\nFROM busybox AS other\n",
    );
    const e = errorOf(() => planBuild(df, { target: "other" }));
    expect(e.code).toBe("MOLT_DOCKERFILE_CYCLE");
    expect(e.reason).toContain("circular dependency detected on stage");
  });

  it("an unknown target is an error with a suggestion", () => {
    const e = errorOf(() => planBuild(parseDockerfile(multi), { target: "fnal" }));
    expect(e.code).toBe("MOLT_DOCKERFILE_UNKNOWN_TARGET");
    expect(e.reason).toBe('target stage "fnal" could not be found (did you mean final?)');
  });
});
