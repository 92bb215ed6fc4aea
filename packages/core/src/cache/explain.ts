import type { KeyInput } from "./key.js";

/**
 * Why a step missed, from the inputs of the nearest entry on the same chain (the one last
 * written for the same slot): each input that differs, in words, the step's own first and a
 * changed parent (an earlier step, the base image) last. `undefined` nearest means nothing was
 * ever cached for this place on the chain.
 */
export function explainMiss(
  current: readonly KeyInput[],
  nearest: readonly KeyInput[] | undefined,
  keyword: string,
): string {
  if (!nearest) return "no entry in cache";
  const before = new Map(nearest.map((i) => [i.name, i]));
  const now = new Map(current.map((i) => [i.name, i]));
  const reasons: string[] = [];
  const fileChanged = new Set<string>();
  for (const i of current) {
    const old = before.get(i.name);
    if (i.name.startsWith("src:")) {
      const path = i.name.slice(4);
      const covered = [...fileChanged].some((f) => f === path || f.startsWith(`${path}/`) || path === ".");
      if (covered) continue;
    }
    if (i.name.startsWith("file:") && old?.digest !== i.digest) fileChanged.add(i.name.slice(5));
    if (!old) reasons.push(describeAdded(i));
    else if (old.digest !== i.digest) reasons.push(describeChanged(old, i, keyword));
  }
  for (const old of nearest) if (!now.has(old.name)) reasons.push(describeRemoved(old));
  if (reasons.length === 0) return "entry expired or unreadable";
  // One line per change, the step's own inputs first; a changed parent is named last.
  const parentReasons = reasons.filter((r) => r.startsWith("an earlier step") || r.startsWith("base image"));
  const own = [...new Set(reasons.filter((r) => !parentReasons.includes(r)))];
  const shown = [...own.slice(0, 3), ...(own.length > 3 ? ["…"] : []), ...parentReasons];
  return shown.join("; ");
}

function label(name: string): string {
  const [kind, ...rest] = name.split(":");
  const what = rest.join(":");
  switch (kind) {
    case "arg":
      return `ARG ${what}`;
    case "env":
      return `ENV ${what}`;
    case "src":
    case "file":
    case "url":
      return what;
    case "mount":
      return `--mount ${what}`;
    default:
      return name.toUpperCase();
  }
}

function describeChanged(old: KeyInput, now: KeyInput, keyword: string): string {
  if (now.name === "parent") {
    return now.display?.startsWith("base ") || old.display?.startsWith("base ")
      ? "base image digest changed"
      : "an earlier step changed";
  }
  if (now.name === "instruction") return `${keyword} changed after expansion (a variable it uses)`;
  if (now.name.startsWith("src:") || now.name.startsWith("file:") || now.name.startsWith("url:"))
    return `${label(now.name)} content changed`;
  if (old.display !== undefined && now.display !== undefined)
    return `${label(now.name)} ${old.display} → ${now.display}`;
  return `${label(now.name)} changed`;
}

function describeAdded(i: KeyInput): string {
  return i.name.startsWith("src:") || i.name.startsWith("file:")
    ? `${label(i.name)} is new`
    : `${label(i.name)} is new`;
}

function describeRemoved(i: KeyInput): string {
  return `${label(i.name)} is gone`;
}
