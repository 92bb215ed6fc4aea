import { chmod, mkdir, realpath, rm, writeFile } from "node:fs/promises";
import { MATERIALISED_LIMITATIONS, type Materialised, materialiseMounts } from "../mounts/materialise.js";
import { enterCommand, hostEnv, validateSpec } from "./command-line.js";
import type { HostCapabilities } from "./detect.js";
import { RunnerSetupError, RunUnsupportedError } from "./errors.js";
import { containerToHostId } from "./id-map.js";
import { missingMounts, runNamespaced } from "./namespaced.js";
import { PLAIN_LIMITATIONS, runPlain } from "./plain.js";
import { runProcess } from "./process.js";
import { mkdirInRoot } from "./root-path.js";
import type { IdMap, Runner, RunOutcome, RunSpec } from "./types.js";

/** True when `user`'s ids are the same inside `caps`' user namespace as on disk. */
function identityMapped(caps: HostCapabilities, user: RunSpec["user"]): boolean {
  const same = (kind: "uid" | "gid", id: number) => containerToHostId(caps.userIdMap, kind, id) === id;
  return same("uid", user.uid) && [user.gid, ...user.groups].every((g) => same("gid", g));
}

/**
 * The chroot runner (root, or a container running as root with CAP_SYS_CHROOT). With mount and
 * PID namespaces it gives the command `/proc`, `/sys`, a private minimal `/dev` and the host's
 * resolv.conf/hosts that all vanish with it. In a default container, where those are refused
 * but user namespaces are not and root has subordinate ids 1…65534 (`root:1:65535` in
 * /etc/subuid and /etc/subgid, with newuidmap), it uses a user namespace whose ids map to
 * themselves to get the same mounts. Otherwise, and for a USER such a namespace cannot map, it
 * runs with chroot alone. `limitations` says which.
 */
export class ChrootRunner implements Runner {
  readonly name = "chroot" as const;
  readonly limitations: string[];
  /** How commands are isolated: root's namespaces, a user namespace, or chroot alone. */
  readonly mode: "namespaces" | "user-namespace" | "plain";
  constructor(private readonly caps: HostCapabilities) {
    // A user namespace only when it maps the usual ids to themselves: with root alone mapped, a
    // root RUN's `chown app /x` would fail there, while plain chroot as real root can do it.
    const identity =
      caps.subordinateIds &&
      identityMapped(caps, { uid: 65534, gid: 65534, groups: [], home: "/" }) &&
      identityMapped(caps, { uid: 1, gid: 1, groups: [], home: "/" });
    this.mode =
      caps.namespaces && caps.mounts.has("dev")
        ? "namespaces"
        : identity && caps.userNamespaces && caps.userMounts.has("dev")
          ? "user-namespace"
          : "plain";
    const net = this.mode === "user-namespace" ? caps.userNetNamespace : caps.netNamespace;
    const netNotes = [
      ...(net ? [] : ["--network=none is refused (no network namespace)"]),
      ...(net && !caps.tools.ip ? ["--network=none leaves lo down (no ip from iproute2)"] : []),
    ];
    if (this.mode === "namespaces") this.limitations = [...missingMounts(caps.mounts), ...netNotes];
    else if (this.mode === "user-namespace") {
      this.limitations = [
        "mount namespaces are refused to root here: commands run in a user namespace mapping ids 0-65534 to themselves (root's subordinate ids)",
        "mknod and chown to ids above 65534 are refused inside commands; device nodes are the host's, bound in",
        ...missingMounts(caps.userMounts),
        ...netNotes,
      ];
    } else this.limitations = [...PLAIN_LIMITATIONS];
  }
  async run(spec: RunSpec): Promise<RunOutcome> {
    validateSpec(spec);
    if (this.mode === "namespaces") return runNamespaced(this.caps, "root", spec);
    if (this.mode === "user-namespace" && identityMapped(this.caps, spec.user)) {
      return runNamespaced(this.caps, "user", spec);
    }
    return runPlain(this.caps, spec);
  }
}

/** The rootless runner: a user namespace maps this uid to root; mount + PID namespaces inside. */
export class RootlessRunner implements Runner {
  readonly name = "rootless" as const;
  readonly limitations: string[];
  /** Container ids → the host ids files get on disk. */
  readonly idMap: IdMap;
  constructor(private readonly caps: HostCapabilities) {
    this.idMap = caps.userIdMap;
    const sub = caps.userIdMap.uid.filter((r) => r.inside !== 0);
    this.limitations = [
      ...(caps.subordinateIds
        ? [
            `root is your uid ${caps.euid} on disk and ids ${sub.map((r) => `${r.inside}-${r.inside + r.count - 1}`).join(",")} are your subordinate ids (${sub.map((r) => `${r.outside}-${r.outside + r.count - 1}`).join(",")}): a layer must translate them back (idMap)`,
          ]
        : [
            "only your own uid is mapped (to root): USER other than root is refused (needs newuidmap/newgidmap and /etc/subuid, /etc/subgid)",
            "files keep your host uid on disk (root inside); chown to other ids fails inside commands",
          ]),
      "device nodes are the host's, bound in; mknod is not permitted",
      ...missingMounts(caps.userMounts),
      ...(caps.userNetNamespace ? [] : ["--network=none is refused (no network namespace)"]),
    ];
  }
  async run(spec: RunSpec): Promise<RunOutcome> {
    validateSpec(spec);
    return runNamespaced(this.caps, "user", spec);
  }
}

/**
 * kaniko's model: the stage's root *is* `/` of a dedicated throwaway container. Commands run
 * directly (user switched with setpriv when root), nothing is mounted or isolated.
 */
export class InPlaceRunner implements Runner {
  readonly name = "in-place" as const;
  readonly limitations = [
    "no isolation: commands run in this machine's / and can change anything in it",
    "--network=none is refused",
    "no PID namespace: processes that leave the command's process group (setsid) can outlive an abort",
    ...MATERIALISED_LIMITATIONS,
  ];
  constructor(private readonly caps: HostCapabilities) {}
  async run(spec: RunSpec): Promise<RunOutcome> {
    validateSpec(spec);
    if ((await realpath(spec.rootfs)) !== "/")
      throw new RunnerSetupError(`the in-place runner runs in / only, not ${spec.rootfs}`);
    if (spec.network === "none") throw new RunUnsupportedError("--network=none is not available in place");
    const root = this.caps.euid === 0;
    if (!root && spec.user.uid !== this.caps.euid) {
      throw new RunUnsupportedError(`cannot switch to uid ${spec.user.uid} without root`);
    }
    const wd = await mkdirInRoot("/", spec.cwd, root ? spec.user : undefined);
    // Heredoc scripts go to /dev/pipes of this machine for the command's lifetime.
    const created: string[] = [];
    let mounted: Materialised | undefined;
    try {
      const transient = spec.transientFiles ?? [];
      if (transient.length > 0) {
        await mkdir("/dev/pipes", { mode: 0o755 }).then(
          () => created.push("/dev/pipes"),
          (e: NodeJS.ErrnoException) => {
            if (e.code !== "EEXIST") throw e;
          },
        );
        for (const f of transient) {
          await writeFile(f.path, f.content, { mode: f.mode, flag: "wx" });
          await chmod(f.path, f.mode);
          created.push(f.path);
        }
      }
      if (spec.mounts && spec.mounts.length > 0)
        mounted = await materialiseMounts("/", spec.mounts, this.caps.tools.touch);
      const argv = enterCommand(this.caps.tools, spec, undefined, wd, root);
      return await runProcess({ file: argv[0]!, args: argv.slice(1), env: hostEnv(spec) }, spec);
    } finally {
      await mounted?.restore();
      for (const p of created.reverse()) await rm(p, { recursive: true, force: true });
    }
  }
}
