import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeOwnedTempDir, removeOwnedTempDir } from "@molt/oci";
import createDebug from "debug";
import { makeDevDir } from "./dev-skeleton.js";
import { run } from "./exec.js";
import { findTools, type HostTools, shQuote } from "./host-tools.js";
import { fstabLines, MOUNTS, type MountId, probeAllScript, probeScript } from "./mount-plan.js";
import type { IdMap, IdRange } from "./types.js";

const debug = createDebug("molt:run");

/** What this host lets molt do, found by trying it (once per {@link detectHost} call). */
export interface HostCapabilities {
  /** Effective uid of this process. */
  euid: number;
  /** The host programs found (absolute paths). */
  tools: HostTools;
  /** `chroot` is permitted (root or CAP_SYS_CHROOT). */
  chroot: boolean;
  /** As root: new mount + PID namespaces (`unshare --mount --pid --fork`). */
  namespaces: boolean;
  /** As root: a new network namespace. */
  netNamespace: boolean;
  /** As root, inside new namespaces: the mounts that work (host network / new network). */
  mounts: Set<MountId>;
  mountsNet: Set<MountId>;
  /** User namespaces with this uid mapped to root, plus mount + PID namespaces. */
  userNamespaces: boolean;
  /** A network namespace inside the user namespace. */
  userNetNamespace: boolean;
  /**
   * `unshare --map-auto` works: newuidmap/newgidmap and /etc/subuid, /etc/subgid ranges give the
   * user namespace more ids than this user's own (which is mapped to root).
   */
  subordinateIds: boolean;
  /** The id maps a rootless run gets (your uid → 0, plus the subordinate ranges when available). */
  userIdMap: IdMap;
  /** Inside a user namespace: the mounts that work (host network / new network). */
  userMounts: Set<MountId>;
  userMountsNet: Set<MountId>;
  /** Why things are missing, in plain words. */
  notes: string[];
}

const HOST_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/**
 * Writes the files a mount probe mounts from into a new temp dir: one fstab per mount (`args`:
 * pairs `id file`) and one with every mount in mount order (`all`: `file id…`).
 */
async function probeFiles(nsArgs: string[]): Promise<{ dir: string; args: string[]; all: string[] }> {
  const dir = makeOwnedTempDir(tmpdir(), "molt-probe-");
  const root = join(dir, "root");
  for (const d of ["proc", "sys", "dev", "etc"]) await mkdir(join(root, d), { recursive: true });
  await writeFile(join(root, "etc", "resolv.conf"), "");
  await writeFile(join(root, "etc", "hosts"), "");
  const devDir = makeDevDir(dir, []);
  const args: string[] = [];
  const every: string[] = [];
  for (const id of MOUNTS) {
    const f = join(dir, `fstab-${id}`);
    const lines = fstabLines(id, root, { rootless: nsArgs.includes("--user"), devDir });
    await writeFile(f, `${lines.join("\n")}\n`);
    args.push(id, f);
    every.push(...lines);
  }
  const all = join(dir, "fstab-all");
  await writeFile(all, `${every.join("\n")}\n`);
  return { dir, args, all: [all, ...MOUNTS] };
}

async function probeMounts(tools: HostTools, nsArgs: string[]): Promise<Set<MountId>> {
  const ok = new Set<MountId>();
  if (!tools.unshare || !tools.sh || !tools.mount) return ok;
  const { dir, args, all } = await probeFiles(nsArgs);
  try {
    // Every mount at once first; one by one (in a fresh namespace) only when that fails.
    const quick = probeAllScript({ mount: tools.mount });
    let r = await run(tools.unshare, [...nsArgs, "--", tools.sh, "-c", quick, "probe", ...all], {
      env: HOST_ENV,
    });
    if (r.code !== 0) {
      const script = probeScript({ mount: tools.mount });
      r = await run(tools.unshare, [...nsArgs, "--", tools.sh, "-c", script, "probe", ...args], {
        env: HOST_ENV,
      });
    }
    for (const line of r.stdout.split("\n")) if (line.startsWith("ok:")) ok.add(line.slice(3) as MountId);
    debug("mount probe %o: %o %s", nsArgs, [...ok], r.stderr.trim());
  } finally {
    await removeOwnedTempDir(dir).catch(() => {});
  }
  return ok;
}

/** What the root probes found (see {@link rootProbes}). */
interface RootProbes {
  chroot: boolean;
  /** Undefined without `unshare`. */
  ns?: { ok: boolean; stderr: string; code: number };
  net: boolean;
  mounts: Set<MountId>;
  mountsNet: Set<MountId>;
}

/**
 * The root probes in one process: chroot, mount + PID namespaces, a net namespace, and the
 * mounts that work inside either, tried one after another by one shell. Each process molt
 * itself starts costs a fork of this (large) process; five of them were most of the runner's
 * ~100 ms of host detection on a loaded machine.
 */
async function rootProbes(tools: HostTools): Promise<RootProbes> {
  const q = shQuote;
  const { sh, nsenter, unshare, mount } = tools;
  const t = tools.true!;
  const lines = [`${q(nsenter!)} --root=/ --wd=/ -- ${q(t)} >/dev/null 2>&1; echo "chroot:$?"`];
  const files = unshare && mount ? await probeFiles(ROOT_NS) : undefined;
  try {
    if (unshare) {
      const ns = ROOT_NS.map(q).join(" ");
      lines.push(
        // Its first line of stderr says why namespaces are refused (plain sh: no head or tr in a slim container).
        `err=$(${q(unshare)} ${ns} -- ${q(t)} 2>&1 >/dev/null); echo "ns:$?"; nl='\n'; echo "nserr:\${err%%"$nl"*}"`,
        `${q(unshare)} --net -- ${q(t)} >/dev/null 2>&1; echo "net:$?"`,
      );
      if (files) {
        // Every mount with one `mount -a` first (what a run does); one by one, in a fresh
        // namespace, only when that fails.
        const quick = q(probeAllScript({ mount: mount! }));
        const u = tools.setpriv ? `${q(tools.setpriv)} --pdeathsig=KILL -- ${q(unshare)}` : q(unshare);
        const probe = q(probeScript({ mount: mount! }));
        const all = files.all.map(q).join(" ");
        const args = files.args.map(q).join(" ");
        for (const [tag, net] of [
          ["m", ""],
          ["n", " --net"],
        ] as const) {
          lines.push(
            `{ ${u} ${ns}${net} -- ${q(sh!)} -c ${quick} probe ${all} 2>/dev/null || ${u} ${ns}${net} -- ${q(sh!)} -c ${probe} probe ${args} 2>/dev/null; } | while read -r l; do echo "${tag}:$l"; done`,
          );
        }
      }
    }
    // setpriv --pdeathsig: a build killed mid-probe takes its probe shell with it (and that
    // shell's unshares, each set up the same way), so no orphan still mounts into the probe dir
    // while the next build reclaims it.
    const r = tools.setpriv
      ? await run(tools.setpriv, ["--pdeathsig=KILL", "--", sh!, "-c", lines.join("\n")], { env: HOST_ENV })
      : await run(sh!, ["-c", lines.join("\n")], { env: HOST_ENV });
    const out = new Map<string, string>();
    const mounts = new Set<MountId>();
    const mountsNet = new Set<MountId>();
    for (const line of r.stdout.split("\n")) {
      if (line.startsWith("m:ok:")) mounts.add(line.slice(5) as MountId);
      else if (line.startsWith("n:ok:")) mountsNet.add(line.slice(5) as MountId);
      else {
        const i = line.indexOf(":");
        if (i > 0 && !out.has(line.slice(0, i))) out.set(line.slice(0, i), line.slice(i + 1));
      }
    }
    debug("root probes: %o", {
      out: Object.fromEntries(out),
      mounts: [...mounts],
      mountsNet: [...mountsNet],
    });
    const code = Number(out.get("ns") ?? "-1");
    return {
      chroot: out.get("chroot") === "0",
      ...(unshare ? { ns: { ok: code === 0, code, stderr: (out.get("nserr") ?? "").trim() } } : {}),
      net: out.get("net") === "0",
      mounts,
      mountsNet,
    };
  } finally {
    if (files) await removeOwnedTempDir(files.dir).catch(() => {});
  }
}

/** The `unshare` flags of a root run. */
export const ROOT_NS = ["--mount", "--pid", "--fork", "--kill-child", "--propagation=private"];
/** The `unshare` flags of a rootless run (`--map-auto` adds the subordinate ids when available). */
export function userNs(subordinateIds: boolean): string[] {
  return ["--user", ...(subordinateIds ? ["--map-auto"] : []), "--map-root-user", ...ROOT_NS];
}
const USER_NS = userNs(false);

/** Parses `/proc/self/uid_map` text. */
export function parseIdMap(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length === 3 && f.every(Number.isSafeInteger))
      out.push({ inside: f[0]!, outside: f[1]!, count: f[2]! });
  }
  return out;
}

/**
 * Finds out what this host allows by trying it: chroot, mount/PID/network namespaces as root,
 * user namespaces, and which of the mounts a RUN wants actually work inside them (on a scratch
 * root under the temp dir). User namespaces are probed when `userNamespaces` (default: when not
 * root, or when root but mount namespaces are refused). Takes a few tens of milliseconds.
 */
export async function detectHost(options: { userNamespaces?: boolean } = {}): Promise<HostCapabilities> {
  const tools = findTools();
  const euid = process.geteuid?.() ?? -1;
  const notes: string[] = [];
  const caps: HostCapabilities = {
    euid,
    tools,
    chroot: false,
    namespaces: false,
    netNamespace: false,
    mounts: new Set(),
    mountsNet: new Set(),
    userNamespaces: false,
    userNetNamespace: false,
    subordinateIds: false,
    userIdMap: {
      uid: [{ inside: 0, outside: euid, count: 1 }],
      gid: [{ inside: 0, outside: process.getegid?.() ?? 0, count: 1 }],
    },
    userMounts: new Set(),
    userMountsNet: new Set(),
    notes,
  };
  for (const t of ["sh", "env", "nsenter"] as const)
    if (!tools[t]) notes.push(`${t} not found (util-linux/coreutils)`);
  if (!tools.unshare) notes.push("unshare not found (util-linux): no namespaces");
  if (!tools.sh || !tools.env || !tools.nsenter || !tools.true) return caps;

  if (euid === 0) {
    // One shell runs every probe (see rootProbes); a result counts only where its precondition
    // holds (mounts only with namespaces, net mounts only with a net namespace).
    const probes = await rootProbes(tools);
    caps.chroot = probes.chroot;
    if (!caps.chroot) notes.push("chroot is not permitted (no CAP_SYS_CHROOT)");
    if (!tools.setpriv) notes.push("setpriv not found (util-linux): cannot switch users");
    if (probes.ns) {
      caps.namespaces = probes.ns.ok;
      if (!caps.namespaces)
        notes.push(`mount/PID namespaces refused (${probes.ns.stderr || `exit ${probes.ns.code}`})`);
      if (caps.namespaces) {
        caps.netNamespace = probes.net;
        caps.mounts = probes.mounts;
        if (caps.netNamespace) caps.mountsNet = probes.mountsNet;
      }
    }
  }
  // As root, user namespaces matter too when plain namespaces are refused (a default container):
  // the chroot runner can then use one with an identity id map.
  if (tools.unshare && (options.userNamespaces ?? (euid !== 0 || !caps.namespaces))) {
    const u = await run(tools.unshare, [...USER_NS, "--", tools.true], { env: HOST_ENV });
    caps.userNamespaces = u.code === 0;
    if (!caps.userNamespaces) notes.push(`user namespaces refused (${u.stderr.trim() || `exit ${u.code}`})`);
    else {
      caps.userNetNamespace =
        (await run(tools.unshare, [...USER_NS, "--net", "--", tools.true], { env: HOST_ENV })).code === 0;
      const auto = await run(
        tools.unshare,
        [...userNs(true), "--", tools.sh, "-c", "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map"],
        { env: HOST_ENV },
      );
      const [uidText, gidText] = auto.stdout.split("--\n");
      const uid = parseIdMap(uidText ?? "");
      const gid = parseIdMap(gidText ?? "");
      if (auto.code === 0 && uid.length > 1 && gid.length > 1) {
        caps.subordinateIds = true;
        caps.userIdMap = { uid, gid };
      } else
        notes.push(
          "no subordinate ids (newuidmap, newgidmap, /etc/subuid, /etc/subgid): rootless maps one uid",
        );
      caps.userMounts = await probeMounts(tools, USER_NS);
      if (caps.userNetNamespace) caps.userMountsNet = await probeMounts(tools, [...USER_NS, "--net"]);
    }
  }
  debug("host: %o", { ...caps, tools: Object.keys(tools) });
  return caps;
}
