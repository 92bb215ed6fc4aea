import { parseDockerfile, planBuild } from "@molt/parser";
import { describe, expect, test } from "vitest";
import { FilesOnlyRelease, filesOnlyStages, straightRuns } from "../src/stage/files-only.js";

const plan = (text: string, target?: string) =>
  planBuild(parseDockerfile(text, { file: "Dockerfile" }), target ? { target } : {});

const graph = [
  "FROM busybox AS a",
  "RUN echo a > /a",
  "FROM a AS b", // a is a base: never files-only
  "RUN echo b > /b",
  "FROM busybox AS c",
  "RUN echo c > /c",
  "FROM busybox AS d",
  "COPY --from=b /b /b",
  "RUN --mount=from=c,target=/c cat /c/c",
  "FROM busybox",
  "COPY --from=c /c /c",
  "COPY --from=d /b /b",
  "",
].join("\n");

describe("filesOnlyStages", () => {
  test("stages only read by COPY --from or RUN --mount from=, never the target or a FROM's stage", () => {
    expect([...filesOnlyStages(plan(graph), { recorded: false })].sort()).toEqual([1, 2, 3]);
    // --target d: d is the image, b and c are still only read.
    expect([...filesOnlyStages(plan(graph, "d"), { recorded: false })].sort()).toEqual([1, 2]);
  });

  test("none when the build records its steps (cache, snapshots, a user's snapshotter, a plan)", () => {
    expect(filesOnlyStages(plan(graph), { recorded: true }).size).toBe(0);
  });
});

describe("straightRuns", () => {
  const stage = (text: string) => parseDockerfile(`FROM busybox\n${text}`, { file: "Dockerfile" }).stages[0]!;
  test("the RUNs after the last COPY, ADD or WORKDIR; no diff at all when no RUN comes before it", () => {
    expect(straightRuns(stage("RUN a\nRUN b\n").instructions)).toEqual({ from: 0, noDiffs: true });
    expect(straightRuns(stage("WORKDIR /w\nENV A=1\nRUN a\n").instructions)).toEqual({
      from: 1,
      noDiffs: true,
    });
    expect(straightRuns(stage("RUN a\nCOPY x /x\nRUN b\nUSER 1\n").instructions)).toEqual({
      from: 2,
      noDiffs: false,
    });
    expect(straightRuns(stage("RUN a\nADD x /x\n").instructions)).toEqual({ from: 2, noDiffs: false });
  });
});

describe("FilesOnlyRelease", () => {
  test("drops a files-only stage once every stage that reads it has finished, once", async () => {
    const p = plan(graph);
    const release = new FilesOnlyRelease(p, filesOnlyStages(p, { recorded: false }));
    const dropped: number[] = [];
    const drop = (i: number) => {
      dropped.push(i);
      return Promise.resolve();
    };
    for (const i of [0, 1, 2]) release.finished(i, drop);
    expect(dropped).toEqual([]);
    release.finished(3, drop); // d read b and c; c is still read by the final stage
    expect(dropped).toEqual([1]);
    release.finished(4, drop);
    expect(dropped).toEqual([1, 2, 3]);
    release.finished(4, drop);
    expect(dropped).toEqual([1, 2, 3]);
    await release.settled();
  });
});
