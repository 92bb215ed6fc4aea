/**
 * Go's `path/filepath.Match` on Unix, re-implemented from its documented semantics: `*` matches
 * any run of non-`/` characters, `?` one non-`/` character, `[...]` a class (`^` negates,
 * `a-z` ranges, `\` escapes), `\x` the character x. A malformed pattern returns `"bad"`
 * (Go's `ErrBadPattern`), even when the name does not match (Go >= 1.16 behaviour).
 */
export function goMatch(pattern: string, name: string): boolean | "bad" {
  let pat = pattern;
  let rest = name;
  outer: while (pat.length > 0) {
    const { star, chunk, tail } = scanChunk(pat);
    pat = tail;
    if (star && chunk === "") return !rest.includes("/");
    const first = matchChunk(chunk, rest);
    if (first === "bad") return "bad";
    if (first !== null && (first.length === 0 || pat.length > 0)) {
      rest = first;
      continue;
    }
    if (star) {
      for (let i = 0; i < rest.length && rest[i] !== "/"; i++) {
        const t = matchChunk(chunk, rest.slice(i + 1));
        if (t === "bad") return "bad";
        if (t !== null) {
          if (pat.length === 0 && t.length > 0) continue;
          rest = t;
          continue outer;
        }
      }
    }
    // No match: still report a malformed remainder.
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.tail;
      if (matchChunk(next.chunk, "") === "bad") return "bad";
    }
    return false;
  }
  return rest.length === 0;
}

/** True when `pattern` is well formed for {@link goMatch}. */
export function isValidGoPattern(pattern: string): boolean {
  return goMatch(pattern, ".") !== "bad";
}

/** True when the pattern holds any of Go's match metacharacters (`* ? [ \`). */
export function hasMeta(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

function scanChunk(pattern: string): { star: boolean; chunk: string; tail: string } {
  let p = pattern;
  let star = false;
  while (p.startsWith("*")) {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case "\\":
        if (i + 1 < p.length) i++;
        break;
      case "[":
        inRange = true;
        break;
      case "]":
        inRange = false;
        break;
      case "*":
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), tail: p.slice(i) };
}

/** Matches one chunk at the start of `s`: the remainder of `s`, `null` for no match, `"bad"` for a malformed chunk. */
function matchChunk(chunkIn: string, sIn: string): string | null | "bad" {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === "[") {
      let r = -1;
      if (!failed) {
        r = s.codePointAt(0) ?? -1;
        s = s.slice(r > 0xffff ? 2 : 1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.startsWith("^")) {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.startsWith("]") && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        if (lo === "bad") return "bad";
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === "-") {
          const h = getEsc(chunk.slice(1));
          if (h === "bad") return "bad";
          chunk = h.rest;
          hi = h.r;
        }
        if (lo.r <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === "?") {
      if (!failed) {
        if (s[0] === "/") failed = true;
        const cp = s.codePointAt(0) ?? 0;
        s = s.slice(cp > 0xffff ? 2 : 1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === "\\") {
        chunk = chunk.slice(1);
        if (chunk.length === 0) return "bad";
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

function getEsc(chunkIn: string): { r: number; rest: string } | "bad" {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === "-" || chunk[0] === "]") return "bad";
  if (chunk[0] === "\\") {
    chunk = chunk.slice(1);
    if (chunk.length === 0) return "bad";
  }
  const r = chunk.codePointAt(0) ?? 0;
  const rest = chunk.slice(r > 0xffff ? 2 : 1);
  if (rest.length === 0) return "bad";
  return { r, rest };
}
