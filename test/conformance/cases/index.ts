import type { Case } from "../case.js";
import { addCases } from "./add.js";
import { copyCases } from "./copy.js";
import { expandCases } from "./expand.js";
import { heredocCases } from "./heredoc.js";
import { ignoreCases } from "./ignore.js";
import { metadataCases } from "./metadata.js";
import { moreCases } from "./more.js";
import { multistageCases } from "./multistage.js";
import { newerCases } from "./newer.js";
import { ownerCases } from "./owners.js";
import { runCases } from "./run.js";
import { syntaxCases } from "./syntax.js";
import { volumeCases } from "./volume.js";

/** Every conformance case; names are unique. */
export const ALL_CASES: Case[] = [
  ...copyCases,
  ...ownerCases,
  ...addCases,
  ...runCases,
  ...metadataCases,
  ...expandCases,
  ...multistageCases,
  ...ignoreCases,
  ...volumeCases,
  ...syntaxCases,
  ...heredocCases,
  ...newerCases,
  ...moreCases,
];

const seen = new Set<string>();
for (const k of ALL_CASES) {
  if (seen.has(k.name)) throw new Error(`duplicate conformance case name ${k.name}`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(k.name)) throw new Error(`conformance case name ${k.name}: use [a-z0-9-]`);
  seen.add(k.name);
}
