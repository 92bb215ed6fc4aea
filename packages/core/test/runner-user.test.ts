import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  heredocRunArgv,
  type RunUser,
  resolveInRoot,
  resolveUser,
  runEnvironment,
} from "../src/runner/index.js";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-runner-user-"));
  root = join(dir, "root");
  await mkdir(join(root, "etc"), { recursive: true });
  await writeFile(
    join(root, "etc", "passwd"),
    [
      "root:x:0:0:root:/root:/bin/sh",
      "# a comment",
      "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin",
      "user:x:1000:1000:user:/home/user:/bin/sh",
      "nohome:x:1001:1001:::/bin/sh",
      "broken:x:notanumber:1:",
      "",
    ].join("\n"),
  );
  await writeFile(
    join(root, "etc", "group"),
    [
      "root:x:0:",
      "wheel:x:10:root",
      "staff:x:50:user,other",
      "audio:x:29:user",
      "user:x:1000:",
      "other:x:2000:",
    ].join("\n"),
  );
  // A second root whose /etc/passwd is an absolute symlink and whose /etc/group climbs out:
  // both must resolve inside the root (where they do not exist), never to the host's files.
  const evil = join(dir, "evil");
  await mkdir(join(evil, "etc"), { recursive: true });
  await symlink("/etc/../usr/../etc/shadow-of-passwd", join(evil, "etc", "passwd"));
  await mkdir(join(dir, "loop", "etc"), { recursive: true });
  await symlink("/etc/passwd", join(dir, "loop", "etc", "passwd"));
  await symlink("../../../../../../../../etc/group", join(evil, "etc", "group"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("resolveUser", () => {
  it("no USER is root with root's home and the groups listing root", async () => {
    expect(await resolveUser(root, undefined)).toEqual({
      uid: 0,
      gid: 0,
      groups: [10],
      home: "/root",
      name: "root",
    });
    expect(await resolveUser(root, "")).toEqual({
      uid: 0,
      gid: 0,
      groups: [10],
      home: "/root",
      name: "root",
    });
  });
  it("a name takes uid, gid and home from passwd and supplementary groups from group", async () => {
    expect(await resolveUser(root, "user")).toEqual({
      uid: 1000,
      gid: 1000,
      groups: [50, 29],
      home: "/home/user",
      name: "user",
    });
  });
  it("an explicit group sets the primary gid and drops supplementary groups (runc)", async () => {
    expect(await resolveUser(root, "user:staff")).toMatchObject({ uid: 1000, gid: 50, groups: [] });
    expect(await resolveUser(root, "user:2000")).toMatchObject({ uid: 1000, gid: 2000, groups: [] });
    expect(await resolveUser(root, "0:4242")).toMatchObject({ uid: 0, gid: 4242, groups: [] });
  });
  it("a numeric uid needs no passwd entry: gid 0, home /", async () => {
    expect(await resolveUser(root, "4321")).toEqual({ uid: 4321, gid: 0, groups: [], home: "/" });
    expect(await resolveUser(root, "4321:4321")).toEqual({ uid: 4321, gid: 4321, groups: [], home: "/" });
  });
  it("a numeric uid with an entry uses it", async () => {
    expect(await resolveUser(root, "1000")).toMatchObject({
      gid: 1000,
      home: "/home/user",
      name: "user",
      groups: [50, 29],
    });
  });
  it("an empty home field means /", async () => {
    expect(await resolveUser(root, "nohome")).toMatchObject({ uid: 1001, home: "/" });
  });
  it("unknown names are typed errors", async () => {
    await expect(resolveUser(root, "nobody-here")).rejects.toMatchObject({ code: "MOLT_UNKNOWN_USER" });
    await expect(resolveUser(root, "user:nogroup")).rejects.toMatchObject({ code: "MOLT_UNKNOWN_GROUP" });
    await expect(resolveUser(root, "99999999999")).rejects.toMatchObject({ code: "MOLT_UNKNOWN_USER" });
  });
  it("reads the image's files, never the host's, even through symlinks", async () => {
    // The host has root in /etc/passwd and a "root" group; the evil root's links point there.
    await expect(resolveUser(join(dir, "evil"), "root")).rejects.toMatchObject({ code: "MOLT_UNKNOWN_USER" });
    await expect(resolveUser(join(dir, "evil"), "0:root")).rejects.toMatchObject({
      code: "MOLT_UNKNOWN_GROUP",
    });
    expect(await resolveUser(join(dir, "evil"), "0")).toEqual({ uid: 0, gid: 0, groups: [], home: "/" });
    await expect(resolveUser(join(dir, "loop"), "root")).rejects.toMatchObject({ code: "MOLT_UNKNOWN_USER" });
  });
});

describe("resolveInRoot", () => {
  it("follows absolute and relative links inside the root and stops at missing parts", async () => {
    const r = join(dir, "links");
    await mkdir(join(r, "real", "sub"), { recursive: true });
    await symlink("/real", join(r, "abs"));
    await symlink("../../../../real/sub", join(r, "rel"));
    expect(await resolveInRoot(r, "/abs/sub")).toEqual({ hostPath: join(r, "real", "sub"), missing: [] });
    expect(await resolveInRoot(r, "/rel/x/y")).toEqual({
      hostPath: join(r, "real", "sub"),
      missing: ["x", "y"],
    });
    expect(await resolveInRoot(r, "/../../..")).toEqual({ hostPath: r, missing: [] });
  });
});

describe("runEnvironment", () => {
  const user: RunUser = { uid: 1000, gid: 1000, groups: [], home: "/home/user" };
  it("ENV first, then ARGs ENV does not set, then PATH and HOME defaults", () => {
    expect(
      runEnvironment(
        ["A=1", "B=2"],
        new Map([
          ["B", "arg"],
          ["C", "3"],
        ]),
        user,
      ),
    ).toEqual([
      "A=1",
      "B=2",
      "C=3",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/home/user",
    ]);
  });
  it("keeps PATH and HOME when set (by ENV or ARG)", () => {
    expect(runEnvironment(["PATH=/bin"], new Map([["HOME", "/x"]]), user)).toEqual(["PATH=/bin", "HOME=/x"]);
  });
  it("a later ENV entry of the same key replaces the earlier one in place", () => {
    expect(runEnvironment(["A=1", "B=2", "A=3"], new Map(), user).slice(0, 2)).toEqual(["A=3", "B=2"]);
  });
});

describe("heredocRunArgv", () => {
  const doc = (name: string, content: string) => ({ name, content });
  it("exec form runs without a shell", () => {
    expect(heredocRunArgv({ form: "exec", args: ["/bin/echo", "$HOME"] })).toEqual({
      argv: ["/bin/echo", "$HOME"],
      transientFiles: [],
    });
  });
  it("shell form goes through SHELL", () => {
    expect(heredocRunArgv({ form: "shell", command: "echo $HOME" }, ["/bin/bash", "-ec"]).argv).toEqual([
      "/bin/bash",
      "-ec",
      "echo $HOME",
    ]);
  });
  it("a lone heredoc is the shell's script", () => {
    expect(
      heredocRunArgv({ form: "shell", command: "<<EOF", heredocs: [doc("EOF", "echo a\necho b\n")] }),
    ).toEqual({
      argv: ["/bin/sh", "-c", "echo a\necho b\n"],
      transientFiles: [],
    });
  });
  it("a lone heredoc starting with #! becomes an executable /dev/pipes file", () => {
    const r = heredocRunArgv({
      form: "shell",
      command: "<<-'SCRIPT'",
      heredocs: [doc("SCRIPT", "#!/bin/awk -f\nBEGIN{}\n")],
    });
    expect(r).toEqual({
      argv: ["/bin/sh", "-c", "/dev/pipes/SCRIPT"],
      transientFiles: [{ path: "/dev/pipes/SCRIPT", content: "#!/bin/awk -f\nBEGIN{}\n", mode: 0o755 }],
    });
  });
  it("a delimiter that is not a plain file name cannot escape /dev/pipes", () => {
    const r = heredocRunArgv({ form: "shell", command: "<<'../x'", heredocs: [doc("../x", "#!/bin/sh\n")] });
    expect(r.transientFiles[0]!.path).toBe("/dev/pipes/heredoc");
  });
  it("other heredoc commands are reassembled for the shell (fd prefixes included)", () => {
    const r = heredocRunArgv({
      form: "shell",
      command: "<<A cat > /a && 3<<B cat /dev/fd/3",
      heredocs: [doc("A", "first\n"), doc("B", "second\n")],
    });
    expect(r.argv).toEqual(["/bin/sh", "-c", "<<A cat > /a && 3<<B cat /dev/fd/3\nfirst\nA\nsecond\nB"]);
  });
  it("a command with a heredoc argument is not a lone heredoc", () => {
    const r = heredocRunArgv({ form: "shell", command: "python3 <<EOF", heredocs: [doc("EOF", "#!x\n")] });
    expect(r).toEqual({ argv: ["/bin/sh", "-c", "python3 <<EOF\n#!x\nEOF"], transientFiles: [] });
  });
});
