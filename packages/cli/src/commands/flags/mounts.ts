import { applyMountFlags } from "../mount-flags.js";
import type { FlagRow } from "./types.js";
import { BUILD_USAGE, list, str } from "./values.js";

const group = "RUN and snapshots" as const;

/** The flags of `RUN --mount` (BuildKit's names); their parsing lives in `../mount-flags.ts`. */
export const MOUNT_FLAG_ROWS: FlagRow[] = [
  {
    name: "secret",
    type: "string",
    multiple: true,
    group,
    arg: "id=ID,src=FILE|env=VAR",
    help: "build secret for RUN --mount=type=secret; repeatable",
    apply: (v, t) => applyMountFlags({ secret: list(v) }, t.options, BUILD_USAGE),
  },
  {
    name: "ssh",
    type: "string",
    multiple: true,
    group,
    arg: "default|ID=SOCKET_OR_KEY[,…]",
    help: "SSH agent for RUN --mount=type=ssh; repeatable",
    apply: (v, t) => applyMountFlags({ ssh: list(v) }, t.options, BUILD_USAGE),
  },
  {
    name: "cache-mount-dir",
    type: "string",
    group,
    arg: "DIR",
    help: "where RUN --mount=type=cache persists (default ~/.cache/molt/cache-mounts)",
    apply: (v, t) => applyMountFlags({ "cache-mount-dir": str(v) }, t.options, BUILD_USAGE),
  },
  {
    name: "cache-mount-repo",
    type: "string",
    group,
    arg: "REPO",
    help: "pull RUN --mount=type=cache dirs from REPO when missing here; push changed ones after the build",
    apply: (v, t) => applyMountFlags({ "cache-mount-repo": str(v) }, t.options, BUILD_USAGE),
  },
];
