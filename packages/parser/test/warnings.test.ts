// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import { describe, expect, it } from "vitest";
import { parseDockerfile, type WarningRule } from "../src/index.js";

const rules = (text: string) => parseDockerfile(text).warnings.map((w) => [w.rule, w.location.line]);

describe("warnings", () => {
  it.each<[string, string, [WarningRule, number][]]>([
    ["deprecated MAINTAINER", "FROM a\nMAINTAINER me\n", [["MaintainerDeprecated", 2]]],
    [
      "legacy ENV and LABEL forms",
      "FROM a\nENV A 1\nLABEL b 2\nENV C=3\n",
      [
        ["LegacyKeyValueFormat", 2],
        ["LegacyKeyValueFormat", 3],
      ],
    ],
    ["empty continuation line", "FROM a\nRUN a \\\n\n b\n", [["NoEmptyContinuation", 3]]],
    ["stage name casing", "FROM a AS Build\n", [["StageNameCasing", 1]]],
    ["FROM/AS casing", "FROM a as b\n", [["FromAsCasing", 1]]],
    ["JSON args recommended", 'FROM a\nCMD run\nENTRYPOINT ["x"]\n', [["JSONArgsRecommended", 2]]],
    ["undefined variable in FROM", "ARG A\nFROM $A$B\n", [["UndefinedArgInFrom", 2]]],
    ["predefined args are declared", "FROM --platform=$BUILDPLATFORM a:$TARGETARCH\n", []],
    ["inconsistent keyword casing", "FROM a\nRUN x\nrun y\n", [["ConsistentInstructionCasing", 3]]],
    ["reserved stage name", "FROM a AS scratch\n", [["ReservedStageName", 1]]],
    [
      "several CMD in one stage",
      'FROM a\nCMD ["a"]\nCMD ["b"]\nFROM b\nCMD ["c"]\n',
      [["MultipleInstructionsDisallowed", 2]],
    ],
    ["relative WORKDIR", "FROM a\nWORKDIR app\nWORKDIR /x\nWORKDIR rel\n", [["WorkdirRelativePath", 2]]],
    ["redundant target platform", "FROM --platform=${TARGETPLATFORM} a\n", [["RedundantTargetPlatform", 1]]],
    ["secret-looking ARG", "FROM a\nARG GITHUB_TOKEN\nARG KEYBOARD=1\n", [["SecretsUsedInArgOrEnv", 2]]],
    ["clean file", 'FROM a AS b\nRUN x\nCMD ["y"]\n', []],
  ])("%s", (_name, text, expected) => {
    expect(rules(text)).toEqual(expected);
  });

  it("carries a message and a location", () => {
    const [w] = parseDockerfile("FROM a\nMAINTAINER me\n", { file: "x/Dockerfile" }).warnings;
    expect(w).toEqual({
      rule: "MaintainerDeprecated",
      message: "Maintainer instruction is deprecated in favor of using label",
      location: { file: "x/Dockerfile", line: 2, column: 1, endLine: 2, endColumn: 14 },
    });
  });

  it("# check=skip=… drops the named rules, skip=all drops every rule", () => {
    expect(rules("# check=skip=MaintainerDeprecated\nFROM a\nMAINTAINER me\nENV A 1\n")).toEqual([
      ["LegacyKeyValueFormat", 4],
    ]);
    expect(rules("# check=skip=all\nFROM a\nMAINTAINER me\n")).toEqual([]);
    expect(parseDockerfile("# check=error=true\nFROM a\n").directives.check).toEqual({
      skip: [],
      error: true,
      experimental: [],
    });
  });
});
