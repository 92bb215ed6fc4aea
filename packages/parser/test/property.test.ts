import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DockerfileError,
  expandStages,
  expandWord,
  parseDockerfile,
  parseSyntax,
  planBuild,
  printSyntaxTree,
  ShellExpansionError,
} from "../src/index.js";

const TOKENS = [
  "FROM ",
  "from ",
  "RUN ",
  "COPY ",
  "ADD ",
  "ENV ",
  "ARG ",
  "LABEL ",
  "CMD ",
  "ENTRYPOINT ",
  "ONBUILD ",
  "HEALTHCHECK ",
  "SHELL ",
  "WORKDIR ",
  "EXPOSE ",
  "VOLUME ",
  "USER ",
  "STOPSIGNAL ",
  "MAINTAINER ",
  "AS ",
  "x",
  "a=b ",
  "scratch",
  "alpine",
  "\n",
  "\r\n",
  "\\\n",
  "\\",
  "`",
  " ",
  "\t",
  "#",
  "# escape=`\n",
  "# syntax=x\n",
  "$",
  "${",
  "}",
  ":-",
  "$A",
  '"',
  "'",
  "[",
  "]",
  '["a"]',
  "<<EOF",
  "<<-E",
  "EOF\n",
  "\tE\n",
  "--",
  "--from=",
  "--mount=",
  "type=cache,target=/x",
  "--link",
  "=",
  ",",
  "\uFEFF",
  "é",
  "0",
];

const dockerfileText = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((parts) => parts.join(""));
const anyText = fc.oneof(
  dockerfileText,
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 80 }),
);

describe("property: the parser fails only with its typed error", () => {
  it("parseDockerfile, planBuild and expandStages on random text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          const df = parseDockerfile(text);
          planBuild(df);
          expandStages(df, { buildArgs: { A: "1" } });
        } catch (e) {
          if (!(e instanceof DockerfileError)) throw e;
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.column).toBeGreaterThanOrEqual(1);
          expect(typeof e.render(text)).toBe("string");
        }
      }),
      { numRuns: 600 },
    );
  });

  it("expandWord on random words", () => {
    const word = fc
      .array(
        fc.constantFrom(
          "$",
          "{",
          "}",
          ":",
          "-",
          "+",
          "?",
          "#",
          "%",
          "/",
          "*",
          "\\",
          "'",
          '"',
          "A",
          "B",
          "x",
          " ",
        ),
        {
          maxLength: 30,
        },
      )
      .map((p) => p.join(""));
    fc.assert(
      fc.property(word, (w) => {
        try {
          expect(typeof expandWord(w, (n) => (n === "A" ? "aXa" : undefined))).toBe("string");
        } catch (e) {
          if (!(e instanceof ShellExpansionError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("property: printing the syntax tree", () => {
  it("gives the text back, and parsing it again gives the same tree", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        let tree: ReturnType<typeof parseSyntax>;
        try {
          tree = parseSyntax(text);
        } catch (e) {
          if (e instanceof DockerfileError) return;
          throw e;
        }
        const printed = printSyntaxTree(tree);
        expect(printed).toBe(text);
        expect(parseSyntax(printed)).toEqual(tree);
      }),
      { numRuns: 600 },
    );
  });

  it("every physical line belongs to exactly one node, in order", () => {
    fc.assert(
      fc.property(dockerfileText, (text) => {
        let tree: ReturnType<typeof parseSyntax>;
        try {
          tree = parseSyntax(text);
        } catch (e) {
          if (e instanceof DockerfileError) return;
          throw e;
        }
        let expectedLine = 1;
        for (const node of tree.nodes) {
          expect(node.location.line).toBe(expectedLine);
          const lines = node.raw.split("\n").length - (node.raw.endsWith("\n") ? 1 : 0);
          expectedLine += lines;
        }
      }),
      { numRuns: 400 },
    );
  });
});
