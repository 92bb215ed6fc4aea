import { type Case, c } from "../case.js";

const TREE = {
  "top.txt": { content: "top\n", mode: 0o640, uid: 1000, gid: 50 },
  "d/inner": { content: "inner\n", mode: 0o755, uid: 0, gid: 0 },
  "d/link": { symlink: "inner" },
  d: { dir: true as const, mode: 0o750, uid: 1000, gid: 1000 },
};

/** ADD: local archives are unpacked (owners kept), other files copied. */
export const addCases: Case[] = [
  c(
    "add-plain-file",
    "ADD of a plain file copies it",
    `
    FROM {{busybox}}
    ADD a.txt /a
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "add-tar",
    "a local tar is unpacked with owners and modes kept",
    `
    FROM {{busybox}}
    ADD t.tar /x/
    `,
    { "t.tar": { tar: TREE } },
  ),
  c(
    "add-tar-gz",
    "a local gzip tar is unpacked",
    `
    FROM {{busybox}}
    ADD t.tar.gz /x
    `,
    { "t.tar.gz": { tar: TREE, gzip: true } },
  ),
  c(
    "add-tar-chown",
    "ADD --chown of a tar chowns what it unpacks",
    `
    FROM {{busybox}}
    ADD --chown=7:8 t.tar /x/
    `,
    { "t.tar": { tar: TREE } },
  ),
  c(
    "add-tar-merge",
    "a tar unpacked into an existing directory merges with it",
    `
    FROM {{busybox}}
    ADD t.tar /etc/
    `,
    { "t.tar": { tar: { passwd: "replaced\n", "extra/new": "new\n" } } },
  ),
  c(
    "add-tar-hardlink",
    "a tar holding a hard link",
    `
    FROM {{busybox}}
    ADD t.tar /x/
    `,
    { "t.tar": { tar: { one: "same\n", two: { hardlink: "one" } } } },
  ),
  c(
    "add-tar-named-differently",
    "an archive is recognised by content, not name",
    `
    FROM {{busybox}}
    ADD archive.bin /x/
    `,
    { "archive.bin": { tar: { f: "f\n" } } },
  ),
  c(
    "add-gz-not-tar",
    "a gzip file that is not a tar is copied as is",
    `
    FROM {{busybox}}
    ADD notar.gz /n/
    `,
    { "notar.gz": "not actually compressed\n" },
  ),
  c(
    "add-tar-in-dir-copied",
    "an archive inside a copied directory is not unpacked",
    `
    FROM {{busybox}}
    ADD dir /d
    `,
    { "dir/t.tar": { tar: { f: "f\n" } } },
  ),
  c(
    "add-wildcard-tars",
    "ADD with a wildcard unpacks each archive",
    `
    FROM {{busybox}}
    ADD *.tar /x/
    `,
    { "a.tar": { tar: { fa: "a\n" } }, "b.tar": { tar: { fb: "b\n" } } },
  ),
  c(
    "add-tar-to-scratch",
    "ADD of a tar into scratch",
    `
    FROM scratch
    ADD t.tar /
    `,
    { "t.tar": { tar: TREE } },
  ),
];
