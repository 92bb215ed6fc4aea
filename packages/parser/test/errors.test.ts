import { MoltError } from "@molt/oci";
import { describe, expect, it } from "vitest";
import { DockerfileError, parseDockerfile } from "../src/index.js";
import { errorOf } from "./helpers.js";

describe("DockerfileError", () => {
  const text = "FROM alpine\nRUN echo a\nCOPY --bogus a b\nRUN echo c\nRUN echo d\nRUN echo e\n";

  it("is a MoltError with code, file, line and column", () => {
    const e = errorOf(() => parseDockerfile(text, { file: "app/Dockerfile" }));
    expect(e).toBeInstanceOf(DockerfileError);
    expect(e).toBeInstanceOf(MoltError);
    expect(e.code).toBe("MOLT_DOCKERFILE_FLAG");
    expect([e.file, e.line, e.column]).toEqual(["app/Dockerfile", 3, 6]);
    expect(e.message).toBe("app/Dockerfile:3:6: COPY: unknown flag: --bogus");
  });

  it("renders a numbered excerpt with >>> on the bad line", () => {
    const e = errorOf(() => parseDockerfile(text));
    expect(e.render(text)).toBe(
      [
        "Dockerfile:3:6: COPY: unknown flag: --bogus",
        "",
        "--------------------",
        "     1 | FROM alpine",
        "     2 | RUN echo a",
        " >>> 3 | COPY --bogus a b",
        "     4 | RUN echo c",
        "     5 | RUN echo d",
        "--------------------",
        "",
      ].join("\n"),
    );
  });

  it("marks every line of a multi-line instruction", () => {
    const t = "FROM a\nRUN --mount=type=nope \\\n  true\n";
    const e = errorOf(() => parseDockerfile(t));
    expect(e.render(t, 0)).toContain(" >>> 2 | RUN --mount=type=nope \\");
    const unterminated = "FROM a\nRUN <<EOF\nline\n";
    const h = errorOf(() => parseDockerfile(unterminated));
    expect(
      h
        .render(unterminated, 0)
        .split("\n")
        .filter((l) => l.startsWith(" >>>")),
    ).toEqual([" >>> 2 | RUN <<EOF", " >>> 3 | line"]);
  });
});
