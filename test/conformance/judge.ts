import { compareImages } from "../harness/image-compare.js";
import type { Outcome } from "./builders.js";
import type { Case } from "./case.js";
import { EXPECTED, type ExpectedDifference, type Reference } from "./expected-differences.js";
import { MOLT_WRONG } from "./known-wrong.js";
import type { CaseOutcomes } from "./run-cases.js";

/** How a case came out against both references. */
export interface Verdict {
  /** `identical`: nothing but the suite-wide normalisations differ; `expected`: only listed differences; `wrong`: anything else. */
  kind: "identical" | "expected" | "wrong";
  /** Lines no entry explains (the test fails on these). */
  unexpected: string[];
  /** Case-specific expected differences seen, as `ref: reason`. */
  expected: string[];
  /** Known molt bugs seen, as `ref: finding`. */
  knownWrong: string[];
}

/** One line of a failure: molt's message is its first line; a reference's verdict is its last. */
const first = (o: Outcome & { ok: false }) => o.error.split("\n")[0]!.slice(0, 300);
const last = (o: Outcome & { ok: false }) => o.error.split("\n").at(-1)!.slice(0, 300);

/** The raw difference lines between molt and one reference, before any entry explains them. */
export function rawDifferences(k: Case, molt: Outcome, ref: Outcome): string[] {
  if (k.fails) {
    const out: string[] = [];
    if (molt.ok) out.push("molt succeeded, but the case expects every builder to fail");
    if (ref.ok) out.push("reference succeeded, but the case expects every builder to fail");
    return out;
  }
  if (!molt.ok && !ref.ok) return [`both failed: molt: ${first(molt)} | ref: ${last(ref)}`];
  if (!molt.ok) return [`molt failed: ${first(molt)}`];
  if (!ref.ok) return [`reference failed: ${last(ref)}`];
  return compareImages(molt.image, ref.image);
}

const applies = (cases: ExpectedDifference["cases"], k: Case) =>
  cases === "*" || (typeof cases === "function" ? cases(k) : cases.includes(k.name));
const named = (cases: ExpectedDifference["cases"]): cases is string[] => Array.isArray(cases);

/** Where molt's image misses a case's hand-written golden expectations (reference.md). */
export function goldenMisses(k: Case, molt: Outcome): string[] {
  if (!k.golden) return [];
  if (!molt.ok) return [`golden: molt failed: ${first(molt)}`];
  const out: string[] = [];
  for (const [p, want] of Object.entries(k.golden.tree ?? {})) {
    const got = molt.image.tree[p];
    if (want === null) {
      if (got) out.push(`golden: ${p} must not exist`);
      continue;
    }
    if (!got) {
      out.push(`golden: ${p} missing`);
      continue;
    }
    for (const [f, v] of Object.entries(want)) {
      const g = (got as unknown as Record<string, unknown>)[f];
      if (g !== v) out.push(`golden: ${p} ${f}: molt=${JSON.stringify(g)} want=${JSON.stringify(v)}`);
    }
  }
  for (const [f, v] of Object.entries(k.golden.config ?? {}))
    if (JSON.stringify(molt.image.config[f]) !== JSON.stringify(v))
      out.push(`golden: config.${f}: molt=${JSON.stringify(molt.image.config[f])} want=${JSON.stringify(v)}`);
  return out;
}

/** Judges one case: which differences the reviewed lists explain, and which they do not. */
export function judge(k: Case, r: CaseOutcomes): Verdict {
  const v: Verdict = { kind: "identical", unexpected: [], expected: [], knownWrong: [] };
  const goldenWrong = new Set<object>();
  for (const line of goldenMisses(k, r.outcomes.molt)) {
    const wrong = MOLT_WRONG.find((w) => w.case === k.name && w.match.test(line));
    if (wrong) {
      goldenWrong.add(wrong);
      v.knownWrong.push(`golden: ${wrong.finding}`);
    } else v.unexpected.push(line);
  }
  const usedBy = new Map<Reference, Set<object>>();
  for (const ref of ["buildah", "docker"] as Reference[]) {
    const lines = rawDifferences(k, r.outcomes.molt, r.outcomes[ref]);
    const used = new Set<object>(goldenWrong);
    usedBy.set(ref, used);
    for (const line of lines) {
      const wrong = MOLT_WRONG.find(
        (w) => w.case === k.name && (!w.refs || w.refs.includes(ref)) && w.match.test(line),
      );
      if (wrong) {
        used.add(wrong);
        v.knownWrong.push(`${ref}: ${wrong.finding}`);
        continue;
      }
      const exp = EXPECTED.find((e) => e.refs.includes(ref) && applies(e.cases, k) && e.match.test(line));
      if (exp) {
        used.add(exp);
        if (named(exp.cases)) v.expected.push(`${ref}: ${exp.reason}`);
        continue;
      }
      v.unexpected.push(`${ref}: ${line}`);
    }
  }
  // while molt is known wrong in this case, an expected difference may hide behind it: no stale check
  const wrongHere = v.knownWrong.length > 0;
  for (const [ref, used] of usedBy) {
    for (const e of EXPECTED)
      if (!wrongHere && named(e.cases) && e.cases.includes(k.name) && e.refs.includes(ref) && !used.has(e))
        v.unexpected.push(
          `${ref}: listed difference not seen (stale entry in expected-differences.ts): ${e.reason}`,
        );
    for (const w of MOLT_WRONG)
      if (w.case === k.name && (!w.refs || w.refs.includes(ref)) && !used.has(w))
        v.unexpected.push(
          `${ref}: known-wrong ${w.finding} no longer seen — fixed? remove it from known-wrong.ts`,
        );
  }
  v.expected = [...new Set(v.expected)];
  v.knownWrong = [...new Set(v.knownWrong)];
  v.kind =
    v.unexpected.length > 0 || v.knownWrong.length > 0
      ? "wrong"
      : v.expected.length > 0
        ? "expected"
        : "identical";
  return v;
}
