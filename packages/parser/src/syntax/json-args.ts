/** Outcome of reading arguments that may be a JSON array (exec form). */
export type JsonArgs =
  | { kind: "json"; values: string[] }
  | { kind: "not-json" }
  | { kind: "not-string-array"; index: number };

/**
 * Reads `args` as the exec form: a JSON array of strings. Text that does not start with `[` or
 * is not valid JSON is `not-json` (shell form); a valid JSON array holding something other than
 * a string is `not-string-array`, which is an error for every instruction.
 */
export function parseJsonArgs(args: string): JsonArgs {
  const t = args.trimStart();
  if (!t.startsWith("[")) return { kind: "not-json" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return { kind: "not-json" };
  }
  if (!Array.isArray(parsed)) return { kind: "not-json" };
  for (let i = 0; i < parsed.length; i++) {
    if (typeof parsed[i] !== "string") return { kind: "not-string-array", index: i };
  }
  return { kind: "json", values: parsed as string[] };
}
