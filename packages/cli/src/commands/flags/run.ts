import type { FlagRow } from "./types.js";
import { bool, int, list, oneOf, str } from "./values.js";

const group = "RUN and snapshots" as const;

/**
 * kaniko's `--snapshot-mode` in molt's terms. kaniko compares files after each command by
 * content hash (`full`), by size/mode/owner/mtime (`redo`) or by mtime alone (`time`). molt
 * finds changes with the kernel's overlay record where it can mount overlayfs and else by a
 * walk that compares type, size, mode, owner, mtime, ctime and content hash against the
 * baseline. Both find every change each kaniko mode finds, so the mapping only says which
 * finder to prefer: `full` → `auto`, `redo` and `time` → `walk` (no mount needed).
 */
export const SNAPSHOT_MODES = { full: "auto", redo: "walk", time: "walk" } as const;

/** Flags for RUN and for how changes become layers. */
export const RUN_FLAGS: FlagRow[] = [
  {
    name: "jobs",
    short: "j",
    type: "string",
    group,
    arg: "N",
    help: "stages built at once: each starts when the stages it needs are done (default: the number of CPUs; 1 = one after another)",
    apply: (v, t) => {
      t.options.jobs = int(str(v), "jobs", 1, 1024, "a number of stages");
    },
  },
  {
    name: "runner",
    type: "string",
    group,
    arg: "auto|chroot|rootless|in-place",
    help: "how RUN executes (in-place also needs --allow-in-place)",
    apply: (v, t) => {
      t.options.runner = oneOf(str(v), "runner", ["auto", "chroot", "rootless", "in-place"] as const);
    },
  },
  {
    name: "allow-in-place",
    type: "boolean",
    group,
    help: "allow the in-place runner (kaniko's model: the stage root is this container's /)",
    apply: (v, t) => {
      t.options.allowInPlace = bool(v);
    },
  },
  {
    name: "snapshotter",
    type: "string",
    group,
    arg: "auto|walk|overlay",
    help: "how RUN's changes are found (wins over --snapshot-mode)",
    apply: (v, t) => {
      t.options.snapshotMode = oneOf(str(v), "snapshotter", ["auto", "walk", "overlay"] as const);
    },
  },
  {
    name: "snapshot-mode",
    aliases: ["snapshotMode"],
    type: "string",
    group,
    arg: "full|redo|time",
    help: "kaniko's modes: full → --snapshotter auto, redo/time → walk (molt never finds fewer changes)",
    apply: (v, t) => {
      const mode = oneOf(str(v), "snapshot-mode", ["full", "redo", "time"] as const);
      t.options.snapshotMode ??= SNAPSHOT_MODES[mode];
    },
  },
  {
    name: "single-snapshot",
    type: "boolean",
    group,
    help: "one layer for the final stage's changes instead of one per instruction",
    apply: (v, t) => {
      t.options.singleSnapshot = bool(v);
    },
  },
  {
    name: "ignore-path",
    type: "string",
    multiple: true,
    group,
    arg: "PATH",
    help: "never record changes under PATH; repeatable",
    apply: (v, t) => {
      t.options.ignorePaths = [...(t.options.ignorePaths ?? []), ...list(v)];
    },
  },
  {
    name: "ignore-var-run",
    aliases: ["whitelist-var-run"],
    type: "boolean",
    group,
    help: "=true: changes under /var/run are not recorded (kaniko's default; molt's is false: the stage root is its own, not this container's)",
    apply: (v, t) => {
      if (bool(v)) t.options.ignorePaths = [...(t.options.ignorePaths ?? []), "/var/run"];
    },
  },
  {
    name: "use-new-run",
    type: "boolean",
    group,
    ignored:
      "molt's RUN change detection is chosen with --snapshotter (overlay records changes without a scan)",
  },
  {
    name: "image-fs-extract-retry",
    type: "string",
    group,
    arg: "N",
    ignored:
      "base layers are extracted from a verified local copy, so there is nothing to retry; downloads retry with --image-download-retry",
  },
];
