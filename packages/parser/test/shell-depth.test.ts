// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell text, not templates
import { describe, expect, it } from "vitest";
import { expandWord, MAX_NESTING, ShellExpansionError } from "../src/index.js";

const nested = (n: number) => `${"${a:-".repeat(n)}x${"}".repeat(n)}`;

describe("nesting of ${…} is bounded", () => {
  it("expands nesting up to the bound", () => {
    expect(expandWord(nested(MAX_NESTING), () => undefined)).toBe("x");
    expect(expandWord(nested(3), (n) => (n === "a" ? "set" : undefined))).toBe("set");
  });

  it("10,000 levels: a typed error at the offset of the first ${ too deep, not a stack overflow", () => {
    const err = (() => {
      try {
        expandWord(nested(10_000), () => undefined);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ShellExpansionError);
    expect(err).toMatchObject({ code: "MOLT_SHELL_TOO_DEEP", offset: MAX_NESTING * 5 });
    expect((err as Error).message).toBe(`syntax error: \${…} nested more than ${MAX_NESTING} levels deep`);
  });
});
