import { describe, expect, it } from "vitest";
import {
  DockerfileError,
  type InstructionNode,
  parseDockerfile,
  parseSyntax,
  printSyntaxTree,
  type SyntaxTree,
} from "../src/index.js";

function instructions(tree: SyntaxTree): InstructionNode[] {
  return tree.nodes.filter((n): n is InstructionNode => n.type === "instruction");
}

function errorOf(fn: () => unknown): DockerfileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error("expected a DockerfileError");
}

describe("parser directives", () => {
  it("reads syntax, escape and check at the top, keys case-insensitive", () => {
    const t = parseSyntax("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# Check=skip=all\nFROM a\n");
    const ds = t.nodes.filter((n) => n.type === "directive");
    expect(ds.map((d) => [d.name, d.value])).toEqual([
      ["syntax", "docker/dockerfile:1"],
      ["escape", "`"],
      ["check", "skip=all"],
    ]);
    expect(t.escapeToken).toBe("`");
  });

  it("stops at the first line that is not a directive", () => {
    const t = parseSyntax("# a comment\n# escape=`\nFROM a\n");
    expect(t.escapeToken).toBe("\\");
    expect(t.nodes[1]).toMatchObject({ type: "comment", text: " escape=`" });
  });

  it("stops at an unknown directive, treating it as a comment", () => {
    const t = parseSyntax("# unknown=value\n# escape=`\nFROM a\n");
    expect(t.escapeToken).toBe("\\");
    expect(t.nodes[0]!.type).toBe("comment");
  });

  it("stops at an empty line and after an instruction", () => {
    expect(parseSyntax("\n# escape=`\nFROM a\n").escapeToken).toBe("\\");
    expect(parseSyntax("FROM a\n# escape=`\n").escapeToken).toBe("\\");
  });

  it("rejects a repeated directive", () => {
    const e = errorOf(() => parseSyntax("# escape=\\\n# escape=`\nFROM a\n"));
    expect(e.code).toBe("MOLT_DOCKERFILE_DIRECTIVE");
    expect(e.line).toBe(2);
    expect(e.reason).toContain("only one escape parser directive");
  });

  it("rejects an escape that is not \\ or a backtick", () => {
    const e = errorOf(() => parseSyntax("# escape=x\nFROM a\n"));
    expect(e.code).toBe("MOLT_DOCKERFILE_DIRECTIVE");
    expect(e.line).toBe(1);
  });

  it("tolerates a byte-order mark", () => {
    const t = parseSyntax("\uFEFF# escape=`\nFROM a\n");
    expect(t.bom).toBe(true);
    expect(t.escapeToken).toBe("`");
  });

  it("rejects a malformed check directive", () => {
    expect(errorOf(() => parseDockerfile("# check=error=maybe\nFROM a\n")).code).toBe(
      "MOLT_DOCKERFILE_DIRECTIVE",
    );
  });
});

describe("lines and continuations", () => {
  it("joins continuation lines and drops the escape", () => {
    const [i] = instructions(parseSyntax("RUN echo a \\\n  b \\\n  c\n"));
    expect(i!.original).toBe("RUN echo a   b   c");
    expect(i!.args).toBe("echo a   b   c");
    expect(i!.location).toMatchObject({ line: 1, column: 1, endLine: 3, endColumn: 4 });
  });

  it("allows spaces and tabs after the continuation escape", () => {
    const [i] = instructions(parseSyntax("RUN a \\  \t\n b\n"));
    expect(i!.args).toBe("a  b");
  });

  it("drops comment lines inside a continuation", () => {
    const [i] = instructions(parseSyntax("RUN a \\\n# comment\n   # indented comment\n b\n"));
    expect(i!.args).toBe("a  b");
  });

  it("skips empty continuation lines and records them", () => {
    const [i, j] = instructions(parseSyntax("RUN a \\\n\n  \n b\nFROM x\n"));
    expect(i!.args).toBe("a  b");
    expect(i!.emptyContinuationLines).toEqual([2, 3]);
    expect(j!.name).toBe("FROM");
  });

  it("accepts a continuation at end of file", () => {
    const [i] = instructions(parseSyntax("FROM a\nRUN a \\"));
    const run = instructions(parseSyntax("FROM a\nRUN a \\"))[1]!;
    expect(i!.name).toBe("FROM");
    expect(run.args).toBe("a");
  });

  it("uses the backtick for continuations under escape=`", () => {
    const t = parseSyntax("# escape=`\nRUN dir c:\\ `\n  /s\n");
    expect(instructions(t)[0]!.args).toBe("dir c:\\   /s");
  });

  it("ignores leading whitespace and handles CRLF", () => {
    const [i, j] = instructions(parseSyntax("   FROM a\r\n\tRUN b \\\r\n c\r\n"));
    expect(i!.keywordLocation).toMatchObject({ line: 1, column: 4 });
    expect(j!.args).toBe("b  c");
  });

  it("keeps keyword case as written and upper-cases the name", () => {
    const [i] = instructions(parseSyntax("from alpine\n"));
    expect(i!.keyword).toBe("from");
    expect(i!.name).toBe("FROM");
  });

  // BuildKit's line-continuation rule: `([^\\])\\[ \t]*$|^\\[ \t]*$` (an escaped escape at the
  // end of a line is text, not a continuation; its trailing-backslash fixture).
  it("a line ending in an escaped escape does not continue", () => {
    const t = parseSyntax("FROM a\nENV C a\\\\\nENV D d\n");
    expect(instructions(t).map((i) => i.original)).toEqual(["FROM a", "ENV C a\\\\", "ENV D d"]);
    const env = parseDockerfile("FROM a\nENV C a\\\\\nENV D d\n").stages[0]!.instructions[0]!;
    // (the value is expanded later, at build time: `a\\` then gives `a\`)
    expect(env).toMatchObject({ kind: "ENV", pairs: [{ key: "C", value: "a\\\\" }] });
  });

  it("an escaped escape followed by spaces does not continue; a lone escape on a line does", () => {
    expect(instructions(parseSyntax("RUN a\\\\ \t\nRUN b\n")).map((i) => i.args)).toEqual(["a\\\\", "b"]);
    expect(instructions(parseSyntax("RUN a \\\n\\\n b\n")).map((i) => i.args)).toEqual(["a  b"]);
  });

  it("under escape=` a doubled backtick at the end does not continue", () => {
    const t = parseSyntax("# escape=`\nRUN a``\nRUN b\n");
    expect(instructions(t).map((i) => i.args)).toEqual(["a``", "b"]);
  });

  it("a comment line never continues", () => {
    const t = parseSyntax("# comment \\\nFROM a\n");
    expect(instructions(t).map((i) => i.original)).toEqual(["FROM a"]);
  });
});

describe("flags", () => {
  it("reads --name=value and bare --bool at the start only", () => {
    const [i] = instructions(parseSyntax("COPY --from=build --link a --b c\n"));
    expect(i!.flags.map((f) => [f.name, f.value])).toEqual([
      ["from", "build"],
      ["link", undefined],
    ]);
    expect(i!.args).toBe("a --b c");
  });

  it("handles quotes and escapes inside flag values", () => {
    const [i] = instructions(
      parseSyntax(`RUN --mount="type=bind,target=/a b" --network='no'ne --x=a\\ b echo\n`),
    );
    expect(i!.flags.map((f) => f.value)).toEqual(["type=bind,target=/a b", "none", "a b"]);
    expect(i!.flags[0]!.raw).toBe(`--mount="type=bind,target=/a b"`);
    expect(i!.args).toBe("echo");
  });

  it("stops at --", () => {
    const [i] = instructions(parseSyntax("RUN --network=none -- --not-a-flag\n"));
    expect(i!.flags.map((f) => f.name)).toEqual(["network"]);
    expect(i!.args).toBe("--not-a-flag");
  });

  it("locates each flag", () => {
    const [i] = instructions(parseSyntax("COPY  --chown=1:1 a b\n"));
    expect(i!.flags[0]!.location).toMatchObject({ line: 1, column: 7, endLine: 1, endColumn: 18 });
  });

  it("locates flags on continuation lines", () => {
    const [i] = instructions(parseSyntax("COPY \\\n    --chmod=755 a b\n"));
    expect(i!.flags[0]!.location).toMatchObject({ line: 2, column: 5, endColumn: 16 });
  });
});

describe("heredocs", () => {
  it("reads a RUN heredoc body", () => {
    const [i] = instructions(parseSyntax("RUN <<EOF\necho a\necho b\nEOF\nFROM x\n"));
    expect(i!.heredocs).toHaveLength(1);
    expect(i!.heredocs[0]).toMatchObject({
      name: "EOF",
      chomp: false,
      expand: true,
      body: "echo a\necho b\n",
    });
    expect(i!.location).toMatchObject({ line: 1, endLine: 4 });
  });

  it("quoted delimiters disable expansion", () => {
    const t = parseSyntax("RUN <<'EOF'\n$A\nEOF\nRUN <<\"X\"\n$A\nX\nRUN <<E'O'F\n$A\nEOF\n");
    expect(instructions(t).map((i) => [i.heredocs[0]!.name, i.heredocs[0]!.expand])).toEqual([
      ["EOF", false],
      ["X", false],
      ["EOF", false],
    ]);
  });

  it("<<- strips leading tabs from the terminator (and from content in the typed layer)", () => {
    const text = "FROM a\nRUN <<-EOF\n\techo a\n\t\techo b\n\tEOF\n";
    const [, i] = instructions(parseSyntax(text));
    expect(i!.heredocs[0]).toMatchObject({ chomp: true, body: "\techo a\n\t\techo b\n" });
    const run = parseDockerfile(text).stages[0]!.instructions[0]!;
    expect(run.kind === "RUN" && run.heredocs[0]!.content).toBe("echo a\necho b\n");
  });

  it("reads several heredocs on one line, in order", () => {
    const [i] = instructions(parseSyntax("COPY <<A <<B /dst/\na-content\nA\nb-content\nB\n"));
    expect(i!.heredocs.map((h) => [h.name, h.body])).toEqual([
      ["A", "a-content\n"],
      ["B", "b-content\n"],
    ]);
  });

  it("reads a file-descriptor prefix", () => {
    const [i] = instructions(parseSyntax("RUN 3<<EOF cat /dev/fd/3\nhi\nEOF\n"));
    expect(i!.heredocs[0]).toMatchObject({ name: "EOF", fileDescriptor: 3 });
  });

  it("applies to ONBUILD RUN/COPY/ADD", () => {
    const [i] = instructions(parseSyntax("ONBUILD RUN <<EOF\nx\nEOF\n"));
    expect(i!.trigger!.heredocs[0]).toMatchObject({ name: "EOF", body: "x\n" });
  });

  it("is not applied in JSON form or to other instructions", () => {
    const t = parseSyntax('RUN ["echo", "<<EOF"]\nENV A=<<EOF\nEOF\n');
    const [run, env, eof] = instructions(t);
    expect(run!.heredocs).toEqual([]);
    expect(env!.heredocs).toEqual([]);
    expect(eof!.name).toBe("EOF");
  });

  it("rejects an unterminated heredoc", () => {
    const e = errorOf(() => parseSyntax("FROM a\nRUN <<EOF\necho\n"));
    expect(e.code).toBe("MOLT_DOCKERFILE_HEREDOC");
    expect(e.line).toBe(2);
  });

  it("does not treat <<< or cat<<EOF as a heredoc", () => {
    const [i, j] = instructions(parseSyntax("RUN cat <<<word\nRUN cat<<EOF\n"));
    expect(i!.heredocs).toEqual([]);
    expect(j!.heredocs).toEqual([]);
  });
});

describe("lossless printing", () => {
  const samples = [
    "FROM a\n",
    "# syntax=x\n\n# c\n  FROM a AS b  \r\nRUN x \\\n  # c\n\n  y\nCOPY <<EOF /a\nbody\nEOF",
    "\uFEFFFROM a\nRUN <<-E\n\tx\n\tE\n",
  ];
  it.each(samples)("prints %j back byte for byte", (text) => {
    const tree = parseSyntax(text);
    expect(printSyntaxTree(tree)).toBe(text);
    expect(parseSyntax(printSyntaxTree(tree))).toEqual(tree);
  });
});

describe("syntax-only locations (built when first read)", () => {
  const text = "FROM a\nONBUILD COPY --chown=1:1 \\\n  --chmod=644 x \\\n  /y\n";
  const [, onbuild] = instructions(parseSyntax(text, { file: "df" }));
  const copy = onbuild!.trigger!;

  it("gives the ranges on the first line and on continuation lines", () => {
    expect(onbuild!.keywordLocation).toEqual({ file: "df", line: 2, column: 1, endLine: 2, endColumn: 8 });
    expect(onbuild!.argsLocation).toEqual({ file: "df", line: 2, column: 9, endLine: 4, endColumn: 5 });
    expect(copy.keywordLocation).toEqual({ file: "df", line: 2, column: 9, endLine: 2, endColumn: 13 });
    expect(copy.flags[0]!.location).toEqual({ file: "df", line: 2, column: 14, endLine: 2, endColumn: 25 });
    expect(copy.flags[1]!.location).toEqual({ file: "df", line: 3, column: 3, endLine: 3, endColumn: 14 });
    expect(copy.argsLocation).toEqual({ file: "df", line: 3, column: 15, endLine: 4, endColumn: 5 });
  });

  it("returns the same object on every read", () => {
    expect(copy.keywordLocation).toBe(copy.keywordLocation);
    expect(copy.flags[0]!.location).toBe(copy.flags[0]!.location);
  });

  it("serialises to the plain documented form, fields in order", () => {
    const json = JSON.parse(JSON.stringify(onbuild));
    expect(Object.keys(json)).toEqual([
      "type",
      "keyword",
      "name",
      "keywordLocation",
      "flags",
      "args",
      "argsLocation",
      "trigger",
      "original",
      "heredocs",
      "emptyContinuationLines",
      "location",
      "raw",
    ]);
    expect(json.trigger.flags[1]).toEqual({
      raw: "--chmod=644",
      text: "--chmod=644",
      name: "chmod",
      location: { file: "df", line: 3, column: 3, endLine: 3, endColumn: 14 },
      value: "644",
    });
    expect(json.trigger.keywordLocation).toEqual(copy.keywordLocation);
  });
});
