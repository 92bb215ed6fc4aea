/**
 * Symbolic `--chmod` (BuildKit's dockerfile frontend 1.10+): chmod(1) clauses such as
 * `u=rwx,g=rx,o=` or `go-w,a+X`, applied to each copied entry's own mode.
 * @module
 */

const CLAUSE = /^([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)$/;
const ACTION = /([-+=])([ugo]|[rwxXst]*)/g;

/** Mode bits each class letter covers: its rwx plus its special bit (setuid, setgid, sticky). */
const CLASS: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007 };
const SHIFT: Record<string, number> = { u: 6, g: 3, o: 0 };

/**
 * Compiles a symbolic mode into a function of (current mode, is a directory) → new mode, or
 * returns undefined when `spec` is not a symbolic mode. No `who` means all classes (no umask is
 * applied: a build has none). `X` is execute for directories and for files that have an
 * execute bit at that point (clauses apply in order, as GNU chmod does); `u`/`g`/`o` as
 * permissions copy that class's current bits.
 */
export function compileSymbolicMode(spec: string): ((mode: number, isDir: boolean) => number) | undefined {
  if (spec === "") return undefined;
  const clauses = spec.split(",");
  if (!clauses.every((c) => CLAUSE.test(c))) return undefined;
  return (original, isDir) => {
    let mode = original & 0o7777;
    for (const clause of clauses) {
      const [, who = "", actions = ""] = CLAUSE.exec(clause)!;
      const classes = who === "" || who.includes("a") ? "ugo" : who;
      let mask = 0;
      for (const c of classes) mask |= CLASS[c]!;
      for (const [, op, perms = ""] of actions.matchAll(ACTION)) {
        let bits = 0;
        if (perms === "u" || perms === "g" || perms === "o") {
          bits = ((mode >> SHIFT[perms]!) & 0o7) * 0o111;
        } else {
          for (const p of perms) {
            if (p === "r") bits |= 0o444;
            else if (p === "w") bits |= 0o222;
            else if (p === "x") bits |= 0o111;
            else if (p === "X" && (isDir || (mode & 0o111) !== 0)) bits |= 0o111;
            else if (p === "s") bits |= 0o6000;
            else if (p === "t") bits |= 0o1000;
          }
        }
        bits &= mask;
        if (op === "+") mode |= bits;
        else if (op === "-") mode &= ~bits;
        else mode = (mode & ~mask) | bits;
      }
    }
    return mode;
  };
}
