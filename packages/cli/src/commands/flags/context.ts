import type { GitContextOptions } from "@molt/core";
import type { FlagRow } from "./types.js";
import { int, keyValues, list, str, usage } from "./values.js";

const group = "context and Dockerfile" as const;

/** Flags that name the build context, the Dockerfile and its inputs. */
export const CONTEXT_FLAGS: FlagRow[] = [
  {
    name: "context",
    short: "c",
    type: "string",
    group,
    arg: "CONTEXT",
    help: "directory (default .), dir:// or file://PATH, tar://FILE, tar://stdin, gs://BUCKET/PATH, s3://BUCKET/KEY, https://URL, git URL",
    apply: (v, t) => {
      t.options.context = str(v);
    },
  },
  {
    name: "bucket",
    short: "b",
    type: "string",
    group,
    arg: "BUCKET",
    hidden: true,
    help: "kaniko's older form of -c gs://BUCKET (a value with a scheme, like s3://…, is used as the context)",
    apply: (v, t) => {
      const b = str(v);
      t.options.context = b.includes("://") ? b : `gs://${b}`;
    },
  },
  {
    name: "context-sub-path",
    type: "string",
    group,
    arg: "DIR",
    help: "use DIR inside the context as its root",
    apply: (v, t) => {
      t.options.contextSubPath = str(v);
    },
  },
  {
    name: "dockerfile",
    short: "f",
    type: "string",
    group,
    arg: "PATH",
    help: "Dockerfile path (relative: cwd first, then the context), URL, or - for stdin",
    apply: (v, t) => {
      t.options.dockerfile = str(v);
    },
  },
  {
    name: "build-arg",
    type: "string",
    multiple: true,
    group,
    arg: "K[=V]",
    help: "ARG value (K alone takes it from the environment); repeatable",
    apply: (v, t) => {
      t.options.buildArgs = keyValues(list(v), "build-arg", t.env);
    },
  },
  {
    name: "target",
    type: "string",
    group,
    arg: "STAGE",
    help: "build this stage (and only the stages it needs)",
    apply: (v, t) => {
      t.options.target = str(v);
    },
  },
  {
    name: "custom-platform",
    aliases: ["customPlatform"],
    type: "string",
    group,
    arg: "OS/ARCH[/V]",
    help: "target platform (default linux/amd64); one platform per build",
    apply: (v, t) => {
      const p = str(v);
      if (p.includes(",")) {
        throw usage(
          `--custom-platform=${p}: molt builds one platform per build for now; run one build per platform (e.g. --custom-platform=${p.split(",")[0]!.trim()})`,
        );
      }
      t.options.platform = p;
    },
  },
  {
    name: "git",
    type: "string",
    multiple: true,
    group,
    arg: "K=V,...",
    help: "git contexts: branch=NAME, single-branch=BOOL, recurse-submodules=BOOL, depth=N (0 = full history), insecure-skip-tls=BOOL",
    apply: (v, t) => {
      t.options.git = parseGitFlag(list(v));
    },
  },
];

/** kaniko's `--git` value: comma-separated `key=value` pairs, possibly over several flags. */
export function parseGitFlag(items: string[]): GitContextOptions {
  const out: GitContextOptions = {};
  const pairs = keyValues(
    items.flatMap((i) => i.split(",")).filter((p) => p !== ""),
    "git",
  );
  const boolOf = (k: string, s: string) => {
    if (/^(true|1)$/i.test(s)) return true;
    if (/^(false|0)$/i.test(s)) return false;
    throw usage(`--git ${k} takes true or false, got "${s}"`);
  };
  for (const [k, val] of Object.entries(pairs)) {
    switch (k) {
      case "branch":
        out.branch = val;
        break;
      case "single-branch":
        out.singleBranch = boolOf(k, val);
        break;
      case "recurse-submodules":
        out.recurseSubmodules = boolOf(k, val);
        break;
      case "depth":
        out.depth = int(val, "git depth", 0, 1_000_000, "a number of commits (0 = full history)");
        break;
      case "insecure-skip-tls":
        out.insecureSkipTls = boolOf(k, val);
        break;
      default:
        throw usage(
          `--git does not know "${k}" (branch, single-branch, recurse-submodules, depth, insecure-skip-tls)`,
        );
    }
  }
  return out;
}
