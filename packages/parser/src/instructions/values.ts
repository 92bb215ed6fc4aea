/** Validators and converters for flag values (chmod modes, durations, sizes). */

const OCTAL_MODE = /^[0-7]{1,4}$/;
const SYMBOLIC_CLAUSE = /^[ugoa]*([-+=]([rwxXst]*|[ugo]))+$/;

/**
 * True when `value` is a mode `--chmod` accepts: octal (`755`, `0644`) or symbolic
 * (`u+x,go=rX`).
 */
export function isValidChmod(value: string): boolean {
  if (OCTAL_MODE.test(value)) return true;
  if (value === "") return false;
  return value.split(",").every((c) => SYMBOLIC_CLAUSE.test(c));
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const DURATION_PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go duration (`1m30s`, `500ms`, `1.5h`, `0`) into nanoseconds, or `undefined` when
 * it is not one.
 */
export function parseDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (!m || m[1] === "" || m[1] === ".") return undefined;
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    pos = DURATION_PART.lastIndex;
  }
  return sign * Math.round(total);
}

const SIZE = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(i?b?)$/i;

/** Parses a RAM size (`64m`, `1g`, `512kb`, `1024`) into bytes (binary multiples, like BuildKit). */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const power = " kmgtp".indexOf(m[2]!.toLowerCase() || " ");
  return Math.round(Number(m[1]) * 1024 ** power);
}
