/** Parser directives: `# syntax=`, `# escape=`, `# check=` at the very top of a Dockerfile. */

/** The directive names BuildKit knows; any other `# key=value` line ends the directives. */
export const KNOWN_DIRECTIVES = ["syntax", "escape", "check"] as const;

const DIRECTIVE_LINE = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;

/** Reads `line` (leading whitespace already removed) as a directive: lower-cased key and value. */
export function matchDirective(line: string): { key: string; value: string } | undefined {
  const m = DIRECTIVE_LINE.exec(line);
  if (!m) return undefined;
  return { key: m[1]!.toLowerCase(), value: m[2]! };
}

/** The `check` directive: which build checks to skip and whether warnings fail the build. */
export interface CheckDirective {
  /** Rule names to skip (case as written), or `"all"`. */
  skip: string[] | "all";
  /** `error=true`: warnings should be treated as errors by the caller. */
  error: boolean;
  /** `experimental=…`: experimental rules to enable (accepted and recorded only). */
  experimental: string[];
}

/** Parses the value of a `# check=` directive (`skip=A,B;error=true`). */
export function parseCheckDirective(value: string): CheckDirective | string {
  const out: CheckDirective = { skip: [], error: false, experimental: [] };
  for (const part of value.split(";")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq < 0) return `invalid check directive "${p}": expected key=value`;
    const key = p.slice(0, eq).trim().toLowerCase();
    const v = p.slice(eq + 1).trim();
    if (key === "skip") {
      out.skip =
        v.toLowerCase() === "all"
          ? "all"
          : v
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean);
    } else if (key === "error") {
      if (!/^(true|false)$/i.test(v)) return `invalid check directive "${p}": error must be true or false`;
      out.error = v.toLowerCase() === "true";
    } else if (key === "experimental") {
      out.experimental = v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    } else {
      return `invalid check directive "${p}": unknown key "${key}"`;
    }
  }
  return out;
}
