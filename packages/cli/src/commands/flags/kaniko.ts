import type { FlagRow } from "./types.js";
import { str } from "./values.js";

const group = "accepted for kaniko compatibility" as const;

/** kaniko flags about kaniko's own way of working: what molt does with each. */
export const KANIKO_FLAGS: FlagRow[] = [
  {
    name: "kaniko-dir",
    type: "string",
    group,
    arg: "DIR",
    help: "working directory for temporary files (also KANIKO_DIR); everything made there is removed",
    apply: (v, t) => {
      t.options.tmpDir = str(v);
    },
  },
  {
    name: "cleanup",
    type: "boolean",
    group,
    noop: true,
    help: "always done: molt removes its temporary files, mounts and stage roots after every build",
  },
  {
    name: "force",
    type: "boolean",
    group,
    noop: true,
    help: "not needed: molt builds in stage roots of its own, never over this machine's /, so it runs outside containers too",
  },
  {
    name: "skip-unused-stages",
    type: "boolean",
    group,
    noop: true,
    help: "always done: only the stages the target needs are built (as BuildKit does)",
  },
  {
    name: "preserve-context",
    type: "boolean",
    group,
    noop: true,
    help: "always done: stages run in their own roots, the context is never changed",
  },
  {
    name: "materialize",
    type: "boolean",
    group,
    ignored: "molt's stage roots are private temporary directories, never this container's filesystem",
  },
  {
    name: "force-build-metadata",
    type: "boolean",
    group,
    ignored: "metadata-only instructions add history entries but no layers, as BuildKit does",
  },
];
