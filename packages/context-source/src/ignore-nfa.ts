/**
 * A `.dockerignore` pattern compiled to a Thompson automaton and run without backtracking:
 * matching keeps the set of automaton states live after each character of the path, so it
 * costs O(|path| × |pattern|) whatever the pattern. A context from a tarball or a git
 * repository is untrusted input, and the regular expression docker builds from a pattern
 * (`**\/**\/…/b`, `*a*a*a…b`) takes exponential time in a backtracking engine such as V8's.
 *
 * The language is the one moby/patternmatcher's regular expression accepts:
 * `*` is `[^/]*`, `?` is `[^/]`, `**` followed by `/` (or not at the end) is `(.*\/)?`, a
 * trailing `**` is `.*`, `[...]` is a character class in Go's syntax (`^` negates, `a-z`
 * ranges, `\` escapes; it may match `/`, as the regular expression's class does), `\x` is the
 * character x, and every other character stands for itself. `.` of the regular expression
 * does not match line terminators, so neither do `.*` and `(.*\/)?` here.
 */

/** One unit of a pattern. */
export type GlobToken =
  | { kind: "char"; cp: number }
  /** `?`: one character that is not `/`. */
  | { kind: "one" }
  /** `[...]`: one character in (or, negated, not in) the ranges. */
  | { kind: "class"; negated: boolean; ranges: [number, number][] }
  /** `*`: any run of characters without `/`. */
  | { kind: "star" }
  /** Trailing `**`: any run of characters (no line terminators). */
  | { kind: "any" }
  /** `**` then more: nothing, or any run of characters ending in `/`. */
  | { kind: "dirs" };

const SLASH = 0x2f;

function isLineTerminator(cp: number): boolean {
  return cp === 0x0a || cp === 0x0d || cp === 0x2028 || cp === 0x2029;
}

/** Reads a class body starting after `[` at `i`; returns the token and the index after `]`. */
function readClass(cps: number[], start: number): { token: GlobToken; next: number } | undefined {
  let i = start;
  let negated = false;
  if (cps[i] === 0x5e /* ^ */) {
    negated = true;
    i++;
  }
  const ranges: [number, number][] = [];
  const esc = (): number | undefined => {
    if (cps[i] === 0x5c /* \ */) i++;
    const c = cps[i];
    if (c === undefined) return undefined;
    i++;
    return c;
  };
  for (;;) {
    if (cps[i] === 0x5d /* ] */ && ranges.length > 0)
      return { token: { kind: "class", negated, ranges }, next: i + 1 };
    const lo = esc();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (cps[i] === 0x2d /* - */ && cps[i + 1] !== 0x5d) {
      i++;
      const h = esc();
      if (h === undefined) return undefined;
      hi = h;
    }
    ranges.push([lo, hi]);
  }
}

/**
 * Splits a (valid, cleaned) pattern into tokens. Callers check validity with Go's rules first;
 * a malformed class here falls back to literal characters.
 */
export function tokenizeGlob(text: string): GlobToken[] {
  const cps = Array.from(text, (c) => c.codePointAt(0) as number);
  const out: GlobToken[] = [];
  let i = 0;
  while (i < cps.length) {
    const c = cps[i++] as number;
    if (c === 0x2a /* * */) {
      if (cps[i] === 0x2a) {
        i++;
        if (cps[i] === SLASH) i++;
        out.push({ kind: i >= cps.length ? "any" : "dirs" });
      } else out.push({ kind: "star" });
    } else if (c === 0x3f /* ? */) {
      out.push({ kind: "one" });
    } else if (c === 0x5c /* \ */) {
      out.push({ kind: "char", cp: i < cps.length ? (cps[i++] as number) : 0x5c });
    } else if (c === 0x5b /* [ */) {
      const cls = readClass(cps, i);
      if (cls) {
        out.push(cls.token);
        i = cls.next;
      } else out.push({ kind: "char", cp: c });
    } else {
      out.push({ kind: "char", cp: c });
    }
  }
  return out;
}

// Automaton nodes, in flat arrays: a node either consumes one character that passes its test
// and moves to `next`, or splits into `next` and `alt` without consuming (`alt` = -1: none).
const CONSUME = 0;
const SPLIT = 1;
const MATCH = 2;

type Test = (cp: number) => boolean;

/** A set of automaton nodes, with the transitions out of it found so far (a lazily built DFA state). */
interface DfaState {
  readonly nodes: Int32Array;
  readonly accepting: boolean;
  /** Transitions on ASCII characters. */
  readonly ascii: (DfaState | undefined)[];
  /** Transitions on other characters. */
  readonly other: Map<number, DfaState>;
}

/** Most DFA states kept per pattern; past it the cache starts over (memory stays bounded). */
const MAX_DFA_STATES = 2000;

/**
 * A compiled pattern: `test(path)` is true when the whole path matches. Matching walks the
 * automaton's state sets (RE2's approach): each set met is remembered with its transitions, so a
 * path costs one table look-up per character once the sets it meets are known, and never more
 * than O(nodes) per character.
 */
export class GlobAutomaton {
  readonly #kind: number[] = [];
  readonly #next: number[] = [];
  readonly #alt: number[] = [];
  readonly #test: (Test | undefined)[] = [];
  readonly #start: number;
  #mark: Uint32Array;
  #gen = 0;
  #states = new Map<string, DfaState>();
  #initial: DfaState | undefined;

  constructor(tokens: readonly GlobToken[]) {
    const add = (kind: number, test?: Test): number => {
      this.#kind.push(kind);
      this.#next.push(-1);
      this.#alt.push(-1);
      this.#test.push(test);
      return this.#kind.length - 1;
    };
    // Build back to front: each token's entry node leads into what follows it.
    let follow = add(MATCH);
    for (let t = tokens.length - 1; t >= 0; t--) {
      const tok = tokens[t] as GlobToken;
      switch (tok.kind) {
        case "char": {
          const want = tok.cp;
          const n = add(CONSUME, (cp) => cp === want);
          this.#next[n] = follow;
          follow = n;
          break;
        }
        case "one": {
          const n = add(CONSUME, (cp) => cp !== SLASH);
          this.#next[n] = follow;
          follow = n;
          break;
        }
        case "class": {
          const { negated, ranges } = tok;
          const n = add(CONSUME, (cp) => {
            let inside = false;
            for (const [lo, hi] of ranges) if (lo <= cp && cp <= hi) inside = true;
            return inside !== negated;
          });
          this.#next[n] = follow;
          follow = n;
          break;
        }
        case "star":
        case "any": {
          // loop: split(consume → loop, follow)
          const loop = add(SPLIT);
          const body = add(
            CONSUME,
            tok.kind === "star" ? (cp) => cp !== SLASH : (cp) => !isLineTerminator(cp),
          );
          this.#next[body] = loop;
          this.#next[loop] = body;
          this.#alt[loop] = follow;
          follow = loop;
          break;
        }
        case "dirs": {
          // split(inner, follow); inner = split(any → inner, "/" → follow)
          const entry = add(SPLIT);
          const inner = add(SPLIT);
          const anyChar = add(CONSUME, (cp) => !isLineTerminator(cp));
          const slash = add(CONSUME, (cp) => cp === SLASH);
          this.#next[anyChar] = inner;
          this.#next[slash] = follow;
          this.#next[inner] = anyChar;
          this.#alt[inner] = slash;
          this.#next[entry] = inner;
          this.#alt[entry] = follow;
          follow = entry;
          break;
        }
      }
    }
    this.#start = follow;
    const size = this.#kind.length;
    this.#mark = new Uint32Array(size);
  }

  /** Adds `node` and every node reachable from it without consuming to `list`; returns the new length. */
  #close(node: number, list: Int32Array, length: number): number {
    // An explicit stack: split chains are short, but recursion depth should not depend on input.
    const stack = [node];
    let len = length;
    while (stack.length > 0) {
      const n = stack.pop() as number;
      if (n < 0 || this.#mark[n] === this.#gen) continue;
      this.#mark[n] = this.#gen;
      if (this.#kind[n] === SPLIT) {
        stack.push(this.#alt[n] as number, this.#next[n] as number);
      } else list[len++] = n;
    }
    return len;
  }

  /** The DFA state for a set of nodes (sorted, duplicate-free), made once. */
  #intern(list: Int32Array, length: number): DfaState {
    const nodes = list.slice(0, length).sort();
    const key = nodes.join(",");
    let st = this.#states.get(key);
    if (!st) {
      if (this.#states.size >= MAX_DFA_STATES) this.#states.clear();
      let accepting = false;
      for (const n of nodes) if (this.#kind[n] === MATCH) accepting = true;
      st = { nodes, accepting, ascii: new Array<DfaState | undefined>(128), other: new Map() };
      this.#states.set(key, st);
    }
    return st;
  }

  /** The state after reading `cp` in `st`: O(nodes) the first time, a look-up afterwards. */
  #step(st: DfaState, cp: number): DfaState {
    const known = cp < 128 ? st.ascii[cp] : st.other.get(cp);
    if (known) return known;
    this.#bump();
    const list = new Int32Array(this.#kind.length);
    let len = 0;
    for (const n of st.nodes) {
      if (this.#kind[n] === CONSUME && (this.#test[n] as Test)(cp))
        len = this.#close(this.#next[n] as number, list, len);
    }
    const to = this.#intern(list, len);
    if (cp < 128) st.ascii[cp] = to;
    else if (st.other.size < 256) st.other.set(cp, to);
    return to;
  }

  /** True when the whole of `path` matches. Time O(|path| × nodes) at worst, memory bounded. */
  test(path: string): boolean {
    if (!this.#initial || !this.#states.has(this.#initial.nodes.join(","))) {
      this.#bump();
      const list = new Int32Array(this.#kind.length);
      this.#initial = this.#intern(list, this.#close(this.#start, list, 0));
    }
    let st = this.#initial;
    for (let i = 0; i < path.length; ) {
      const cp = path.codePointAt(i) as number;
      i += cp > 0xffff ? 2 : 1;
      st = this.#step(st, cp);
      if (st.nodes.length === 0) return false;
    }
    return st.accepting;
  }

  #bump(): void {
    this.#gen++;
    if (this.#gen === 0xffffffff) {
      this.#mark.fill(0);
      this.#gen = 1;
    }
  }
}
