/**
 * Shell patterns (`*`, `?`, `[…]`, escapes) as used by `${V#p}`, `${V%p}` and `${V/p/r}`.
 *
 * Patterns are compiled to a list of atoms and matched by simulating them as a small
 * automaton over the value's code points — no regular expression is built, so no character of a
 * pattern (`-`, `/`, `(`, a reversed range …) can make the matcher fail to compile.
 * @module
 */

/** One bracket-expression member: a code point range or a POSIX class (`[:alpha:]`). */
type ClassItem = { from: number; to: number } | { posix: (cp: number) => boolean };

/** One element of a compiled pattern. Every atom but `star` consumes exactly one code point. */
type Atom =
  | { kind: "char"; cp: number }
  | { kind: "any" }
  | { kind: "star" }
  | { kind: "class"; negate: boolean; items: ClassItem[] };

const isLetter = (c: number): boolean => /\p{L}/u.test(String.fromCodePoint(c));

const POSIX_CLASSES: Record<string, (cp: number) => boolean> = {
  alpha: isLetter,
  digit: (c) => c >= 48 && c <= 57,
  alnum: (c) => (c >= 48 && c <= 57) || isLetter(c),
  upper: (c) => /\p{Lu}/u.test(String.fromCodePoint(c)),
  lower: (c) => /\p{Ll}/u.test(String.fromCodePoint(c)),
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) =>
    (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
  cntrl: (c) => c < 32 || c === 127,
  print: (c) => c >= 32 && c !== 127,
  graph: (c) => c > 32 && c !== 127,
};

const BANG = 0x21;
const CARET = 0x5e;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COLON = 0x3a;
const DASH = 0x2d;
const STAR = 0x2a;
const QUESTION = 0x3f;

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** The index of the `:` of the `:]` ending a `[:name:]` whose name starts at `from`, or -1. */
function posixEnd(p: number[], from: number): number {
  for (let k = from; k + 1 < p.length; k++) {
    if (p[k] === COLON && p[k + 1] === CLOSE) return k;
    if (p[k] === CLOSE) return -1;
  }
  return -1;
}

/**
 * Finds the `]` closing a bracket expression opened at `open`, or -1 when there is none (the `[`
 * is then an ordinary character). A `]` right after `[` or `[!` belongs to the set; `[:name:]`
 * inside is skipped whole.
 */
function bracketEnd(p: number[], open: number, esc: number): number {
  let k = open + 1;
  if (p[k] === BANG || p[k] === CARET) k++;
  if (p[k] === CLOSE) k++;
  for (; k < p.length; k++) {
    if (p[k] === esc && k + 1 < p.length) {
      k++;
      continue;
    }
    if (p[k] === OPEN && p[k + 1] === COLON) {
      const end = posixEnd(p, k + 2);
      if (end >= 0) {
        k = end + 1;
        continue;
      }
    }
    if (p[k] === CLOSE) return k;
  }
  return -1;
}

function compileClass(p: number[], open: number, close: number, esc: number): Atom {
  let k = open + 1;
  let negate = false;
  if (p[k] === BANG || p[k] === CARET) {
    negate = true;
    k++;
  }
  const items: ClassItem[] = [];
  while (k < close) {
    if (p[k] === OPEN && p[k + 1] === COLON) {
      const end = posixEnd(p, k + 2);
      if (end >= 0 && end < close) {
        const name = String.fromCodePoint(...p.slice(k + 2, end));
        // An unknown class name matches nothing, as in dash and bash.
        items.push({ posix: POSIX_CLASSES[name] ?? (() => false) });
        k = end + 2;
        continue;
      }
    }
    let lo = p[k]!;
    if (lo === esc && k + 1 < close) {
      k++;
      lo = p[k]!;
    }
    k++;
    if (p[k] === DASH && k + 1 < close) {
      // a range lo-hi (a reversed one matches nothing); a `-` first or last is a member
      k++;
      let hi = p[k]!;
      if (hi === esc && k + 1 < close) {
        k++;
        hi = p[k]!;
      }
      k++;
      items.push({ from: lo, to: hi });
      continue;
    }
    items.push({ from: lo, to: lo });
  }
  return { kind: "class", negate, items };
}

/**
 * Compiles a shell pattern: `*` any string, `?` any one character, `[…]` a bracket expression
 * (`[!…]`/`[^…]` negated, ranges, POSIX classes; an unclosed `[` is literal), and the escape
 * character quotes the next character. Runs of `*` collapse into one.
 */
function compile(pattern: string, escapeToken: string): Atom[] {
  const p = codePoints(pattern);
  const esc = escapeToken.codePointAt(0) ?? -1;
  const atoms: Atom[] = [];
  for (let i = 0; i < p.length; i++) {
    const cp = p[i]!;
    if (cp === esc) {
      i++;
      if (i < p.length) atoms.push({ kind: "char", cp: p[i]! });
      continue;
    }
    if (cp === STAR) {
      if (atoms.at(-1)?.kind !== "star") atoms.push({ kind: "star" });
    } else if (cp === QUESTION) {
      atoms.push({ kind: "any" });
    } else if (cp === OPEN) {
      const close = bracketEnd(p, i, esc);
      if (close < 0) {
        atoms.push({ kind: "char", cp });
      } else {
        atoms.push(compileClass(p, i, close, esc));
        i = close;
      }
    } else {
      atoms.push({ kind: "char", cp });
    }
  }
  return atoms;
}

function atomAccepts(atom: Atom, cp: number): boolean {
  switch (atom.kind) {
    case "char":
      return atom.cp === cp;
    case "any":
    case "star":
      return true;
    case "class": {
      let hit = false;
      for (const item of atom.items) {
        if ("posix" in item ? item.posix(cp) : cp >= item.from && cp <= item.to) {
          hit = true;
          break;
        }
      }
      return hit !== atom.negate;
    }
  }
}

/**
 * Runs `atoms` over `value` from index `start` and calls `onMatch(end)` for every `end`, in
 * increasing order, such that `value[start, end)` matches the whole pattern; stops when
 * `onMatch` returns true or no state is left. O(length × atoms).
 */
function scanMatches(atoms: Atom[], value: number[], start: number, onMatch: (end: number) => boolean): void {
  const n = atoms.length;
  // states[k] = 1: the atoms [0, k) have consumed value[start, i)
  const closeOverStars = (s: Uint8Array): boolean => {
    let any = false;
    for (let k = 0; k <= n; k++) {
      if (!s[k]) continue;
      any = true;
      if (k < n && atoms[k]!.kind === "star") s[k + 1] = 1;
    }
    return any;
  };
  let states = new Uint8Array(n + 1);
  states[0] = 1;
  closeOverStars(states);
  for (let i = start; ; i++) {
    if (states[n] && onMatch(i)) return;
    if (i >= value.length) return;
    const cp = value[i]!;
    const next = new Uint8Array(n + 1);
    for (let k = 0; k < n; k++) {
      if (!states[k]) continue;
      const atom = atoms[k]!;
      if (atom.kind === "star") next[k] = 1;
      else if (atomAccepts(atom, cp)) next[k + 1] = 1;
    }
    states = next;
    if (!closeOverStars(states)) return;
  }
}

function fromCodePoints(cps: number[], from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCodePoint(cps[i]!);
  return s;
}

/** The end of the shortest (or longest) prefix of `value` matched by `atoms`, or -1. */
function prefixEnd(atoms: Atom[], value: number[], longest: boolean): number {
  let cut = -1;
  scanMatches(atoms, value, 0, (end) => {
    cut = end;
    return !longest;
  });
  return cut;
}

/** `${V#p}` / `${V##p}`: removes the shortest (or longest) prefix of `value` matching `pattern`. */
export function trimPrefix(value: string, pattern: string, longest: boolean, escapeToken = "\\"): string {
  const v = codePoints(value);
  const cut = prefixEnd(compile(pattern, escapeToken), v, longest);
  return cut < 0 ? value : fromCodePoints(v, cut, v.length);
}

/** `${V%p}` / `${V%%p}`: removes the shortest (or longest) suffix of `value` matching `pattern`. */
export function trimSuffix(value: string, pattern: string, longest: boolean, escapeToken = "\\"): string {
  // A suffix matching the pattern is a prefix of the reversed value matching the reversed
  // pattern (every atom but `*` is one character wide, so the atoms reverse one by one).
  const reversed = codePoints(value).reverse();
  const cut = prefixEnd(compile(pattern, escapeToken).reverse(), reversed, longest);
  if (cut < 0) return value;
  return fromCodePoints(reversed.reverse(), 0, reversed.length - cut);
}

/**
 * `${V/p/r}` / `${V//p/r}`: replaces the first (or every) match of `pattern` — the longest one at
 * the leftmost position where a non-empty match exists. An empty pattern, or one that matches
 * only empty strings, changes nothing (as in bash).
 */
export function replacePattern(
  value: string,
  pattern: string,
  replacement: string,
  all: boolean,
  escapeToken = "\\",
): string {
  if (pattern === "") return value;
  const atoms = compile(pattern, escapeToken);
  const v = codePoints(value);
  let out = "";
  let copied = 0;
  for (let i = 0; i < v.length; ) {
    const start = i;
    let end = -1;
    scanMatches(atoms, v, start, (e) => {
      if (e > start) end = e;
      return false;
    });
    if (end < 0) {
      i++;
      continue;
    }
    out += fromCodePoints(v, copied, start) + replacement;
    copied = end;
    i = end;
    if (!all) break;
  }
  return out + fromCodePoints(v, copied, v.length);
}
