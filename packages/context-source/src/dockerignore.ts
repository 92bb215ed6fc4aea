import { BadPatternError } from "./errors.js";
import { isValidGoPattern } from "./go-match.js";
import { GlobAutomaton, tokenizeGlob } from "./ignore-nfa.js";
import { goClean } from "./paths.js";

/**
 * Reads the text of a `.dockerignore` file into patterns the way docker does: a UTF-8 BOM is
 * dropped, lines starting with `#` are comments, surrounding whitespace is trimmed, blank lines
 * are skipped, each pattern is cleaned (`./a/` → `a`) and a leading `/` removed; a `!` prefix
 * (with optional space after it) marks an exception.
 *
 * @example
 * ```ts
 * parseDockerignore("# deps\nnode_modules\n!/node_modules/keep\n") // ["node_modules", "!node_modules/keep"]
 * ```
 */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? "";
    if (i === 0 && line.startsWith("\uFEFF")) line = line.slice(1);
    if (line.startsWith("#")) continue;
    let pattern = line.trim();
    if (pattern === "") continue;
    const invert = pattern.startsWith("!");
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

type MatchKind = "exact" | "prefix" | "suffix" | "regexp";

/** One compiled `.dockerignore` pattern. */
export interface IgnorePattern {
  /** The cleaned pattern without its `!`. */
  readonly text: string;
  /** True for a `!` exception line. */
  readonly exclusion: boolean;
  /** Matches a slash-separated context-relative path against this pattern alone. */
  matches(path: string): boolean;
}

/**
 * The per-pattern results of a parent directory, passed down while walking so that a child
 * only needs to check itself (docker's `MatchInfo`).
 */
export type ParentMatches = readonly boolean[] | undefined;

/**
 * How a pattern is matched: `exact`, `prefix` and `suffix` are plain string tests (docker's
 * fast paths, same conditions); anything else runs a {@link GlobAutomaton}, which never
 * backtracks.
 */
function matchKind(text: string): MatchKind {
  let kind: MatchKind = "exact";
  const chars = Array.from(text);
  let i = 0;
  for (let token = 0; i < chars.length; token++) {
    const ch = chars[i++] as string;
    if (ch === "*") {
      if (chars[i] === "*") {
        i++;
        if (chars[i] === "/") i++;
        if (i >= chars.length) kind = kind === "exact" ? "prefix" : "regexp";
        else kind = "regexp";
        if (token === 0) kind = "suffix";
      } else kind = "regexp";
    } else if (ch === "?" || ch === "[" || ch === "]") {
      kind = "regexp";
    } else if (ch === "\\") {
      if (i < chars.length) {
        i++;
        kind = "regexp";
      }
    }
  }
  return kind;
}

function compile(text: string, exclusion: boolean): IgnorePattern {
  const kind = matchKind(text);
  const automaton = kind === "regexp" ? new GlobAutomaton(tokenizeGlob(text)) : undefined;
  const finalKind = kind as MatchKind;
  const prefix = text.slice(0, -2);
  const suffix = text.slice(2);
  const matches = (path: string): boolean => {
    switch (finalKind) {
      case "exact":
        return path === text;
      case "prefix":
        return path.startsWith(prefix);
      case "suffix":
        if (path.endsWith(suffix)) return true;
        return suffix.startsWith("/") && path === suffix.slice(1);
      default:
        return (automaton as GlobAutomaton).test(path);
    }
  };
  return { text, exclusion, matches };
}

/**
 * Docker's `.dockerignore` matcher (moby/patternmatcher semantics, re-implemented): patterns
 * are checked in order, a matching pattern sets "excluded" and a matching `!` exception clears
 * it, so later lines win; a pattern also matches every path below a directory it matches.
 *
 * @example
 * ```ts
 * const m = new IgnoreMatcher(["*.md", "!README.md"]);
 * m.matches("CHANGES.md") // true
 * m.matches("README.md")  // false
 * ```
 */
export class IgnoreMatcher {
  /** The compiled patterns in file order. */
  readonly patterns: readonly IgnorePattern[];
  /** True when at least one `!` exception exists. */
  readonly hasExclusions: boolean;
  /** True when no exception holds a wildcard (docker then prunes excluded directories by prefix). */
  readonly onlyPrefixExceptions: boolean;

  /** @throws {@link BadPatternError} for a malformed pattern or a lone `!`. */
  constructor(patterns: readonly string[]) {
    const compiled: IgnorePattern[] = [];
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === "") continue;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new BadPatternError("!", ".dockerignore (illegal exclusion pattern)");
        exclusion = true;
        p = p.slice(1);
      }
      if (!isValidGoPattern(p)) throw new BadPatternError(p, ".dockerignore pattern");
      compiled.push(compile(p, exclusion));
    }
    this.patterns = compiled;
    this.hasExclusions = compiled.some((p) => p.exclusion);
    this.onlyPrefixExceptions = !compiled.some(
      (p) => p.exclusion && /[*[\]?^\\]/.test(withoutTrailingGlob(p.text)),
    );
  }

  /** True when there are no patterns at all. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * Whether `path` (slash-separated, relative to the context root) is ignored, deciding each
   * component from its parent's per-pattern results exactly as docker's context walk does.
   */
  matches(path: string): boolean {
    let info: ParentMatches;
    const parts = path.split("/");
    let result = false;
    for (let i = 1; i <= parts.length; i++) {
      const r = this.matchWithParent(parts.slice(0, i).join("/"), info);
      info = r.info;
      result = r.matched;
    }
    return result;
  }

  /**
   * Matches `path` given the per-pattern results of its parent directory, as docker's context
   * walk does (`MatchesUsingParentResults`); pass `undefined` for a top-level entry.
   */
  matchWithParent(path: string, parent: ParentMatches): { matched: boolean; info: boolean[] } {
    let matched = false;
    const info = new Array<boolean>(this.patterns.length).fill(false);
    for (let i = 0; i < this.patterns.length; i++) {
      const pattern = this.patterns[i] as IgnorePattern;
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exclusion !== matched) continue;
        match = pattern.matches(path);
        if (!match && parent === undefined) {
          const dirs = path.split("/");
          for (let j = 1; j < dirs.length && !match; j++) {
            match = pattern.matches(dirs.slice(0, j).join("/"));
          }
        }
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    }
    return { matched, info };
  }

  /**
   * For an excluded directory: whether a walk must still look inside it because an exception
   * could re-include something below it (docker's pruning rule).
   */
  mayIncludeBelow(dir: string): boolean {
    if (!this.hasExclusions) return false;
    if (!this.onlyPrefixExceptions) return true;
    const dirSlash = `${dir}/`;
    return this.patterns.some((p) => p.exclusion && `${withoutTrailingGlob(p.text)}/`.startsWith(dirSlash));
  }
}

function withoutTrailingGlob(text: string): string {
  let t = text;
  if (t.endsWith("/**")) t = t.slice(0, -3);
  if (t.endsWith("/*")) t = t.slice(0, -2);
  return t;
}
