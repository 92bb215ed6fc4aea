import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { tmuxTerminal } from "../harness/tmux.js";

// The live view of parallel stages, in a real terminal (tmux): progress-output.test.ts has one stage.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
const term = tmuxTerminal("progress-tty");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-progress-tty-"));
});
afterAll(async () => {
  await term.close();
  await rm(dir, { recursive: true, force: true });
});

test("two stages running at once are both in the view, each with its own last log line; both collapse when done", async () => {
  const loop = (s: string) => `for i in 1 2 3 4 5 6 7 8; do echo ${s}-$i; sleep 0.5; done`;
  const ctx = await writeContext(
    join(dir, "two"),
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
  await term.start("two", ["-c", ctx, "--no-push", "--insecure-pull", "--progress=tty", "-j", "4"]);
  const runA = /^ => \[a 2\/2\] RUN for i in .* +\d+\.\ds$/m;
  const runB = /^ => \[b 2\/2\] RUN for i in .* +\d+\.\ds$/m;
  // One frame with both RUN steps live, each followed by its own stage's output.
  const live = await term.waitFor(
    "two",
    (t) => runA.test(t) && runB.test(t) && /# a-\d/.test(t) && /# b-\d/.test(t),
  );
  const view = live.split("\n");
  const at = (re: RegExp) => view.findIndex((l) => re.test(l));
  const [a, b] = [at(runA), at(runB)];
  const under = (from: number) => {
    const out: string[] = [];
    for (let i = from + 1; i < view.length && view[i]!.startsWith(" => => "); i++) out.push(view[i]!);
    return out;
  };
  expect(
    under(a)
      .filter((l) => l.startsWith(" => => # "))
      .every((l) => / a-\d$/.test(l)),
  ).toBe(true);
  expect(
    under(b)
      .filter((l) => l.startsWith(" => => # "))
      .every((l) => / b-\d$/.test(l)),
  ).toBe(true);
  expect(under(a).length + under(b).length).toBeGreaterThan(1);
  const end = await term.waitFor("two", (t) => t.includes("EXIT="));
  expect(end).toContain("EXIT=0");
  expect(end.split("\n").filter((l) => runA.test(l))).toHaveLength(1);
  expect(end.split("\n").filter((l) => runB.test(l))).toHaveLength(1);
  expect(end).not.toContain("=> => #");
  expect(end).toMatch(/^\[\+\] Building \d+\.\ds \(\d+\/\d+\) FINISHED$/m);
});
