import { type Case, c } from "../case.js";

/** COPY: sources, destinations, wildcards, symlinks and hard links. */
export const copyCases: Case[] = [
  c(
    "copy-file-to-path",
    "a file copied to a new path keeps content and mode; owner becomes 0:0",
    `
    FROM {{busybox}}
    COPY a.txt /dst/a.txt
    `,
    { "a.txt": { content: "a\n", mode: 0o600, uid: 1234, gid: 99 } },
  ),
  c(
    "copy-file-into-dir-slash",
    "a destination ending in / is a directory, created with parents",
    `
    FROM {{busybox}}
    COPY a.txt /new/deep/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-dir-contents",
    "copying a directory copies its contents, not the directory itself",
    `
    FROM {{busybox}}
    COPY src /app
    `,
    { "src/x": "x\n", "src/sub/y": { content: "y\n", mode: 0o755 }, "src/sub": { dir: true, mode: 0o750 } },
  ),
  c(
    "copy-symlink-in-dir",
    "a symlink inside a copied directory stays a symlink",
    `
    FROM {{busybox}}
    COPY dir /d
    `,
    { "dir/real": "r\n", "dir/link": { symlink: "real" }, "dir/abs": { symlink: "/etc/passwd" } },
  ),
  c(
    "copy-hardlinks-in-dir",
    "hard-linked files inside a copied directory stay one inode",
    `
    FROM {{busybox}}
    COPY dir /d
    `,
    { "dir/one": "same\n", "dir/two": { hardlink: "dir/one" } },
  ),
  c(
    "copy-wildcard",
    "a wildcard source copies every match into the directory",
    `
    FROM {{busybox}}
    COPY *.txt /w/
    `,
    { "a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n" },
  ),
  c(
    "copy-wildcard-classes",
    "? and [] in a source pattern",
    `
    FROM {{busybox}}
    COPY file?.txt [ab].md /w/
    `,
    { "file1.txt": "1\n", "file22.txt": "22\n", "a.md": "a\n", "c.md": "c\n" },
  ),
  c(
    "copy-wildcard-dirs",
    "a wildcard matching directories copies each one's contents",
    `
    FROM {{busybox}}
    COPY d* /w/
    `,
    { "d1/x": "x\n", "d2/y": "y\n", "d2/sub/z": "z\n", "e/no": "no\n" },
  ),
  c(
    "copy-wildcard-nomatch",
    "a wildcard source that matches nothing is not an error beside a real one",
    `
    FROM {{busybox}}
    COPY a.txt nomatch* /dst/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-wildcard-all-empty",
    "every source a wildcard matching nothing: nothing copied, no destination made",
    `
    FROM {{busybox}}
    COPY nomatch* none?.txt /dst/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-missing-source-fails",
    "a missing non-wildcard source fails the build",
    `
    FROM {{busybox}}
    COPY nothere.txt /x
    `,
    { "a.txt": "a\n" },
    { fails: true },
  ),
  c(
    "copy-multi-src-needs-slash",
    "several sources need a destination ending in /",
    `
    FROM {{busybox}}
    COPY a.txt b.txt /dst
    `,
    { "a.txt": "a\n", "b.txt": "b\n" },
    { fails: true },
  ),
  c(
    "copy-multi-src",
    "several sources into one directory",
    `
    FROM {{busybox}}
    COPY a.txt b.txt dir /dst/
    `,
    { "a.txt": "a\n", "b.txt": "b\n", "dir/c": "c\n" },
  ),
  c(
    "copy-onto-existing-dir",
    "a file copied onto an existing directory lands inside it",
    `
    FROM {{busybox}}
    COPY a.txt /etc
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-replace-file",
    "a file copied onto an existing file replaces it",
    `
    FROM {{busybox}}
    COPY passwd /etc/passwd
    `,
    { passwd: { content: "root:x:0:0::/root:/bin/sh\n", mode: 0o600 } },
  ),
  c(
    "copy-dot",
    "COPY . copies the whole context (Dockerfile included)",
    `
    FROM {{busybox}}
    COPY . /ctx/
    `,
    { "a.txt": "a\n", "sub/b": "b\n", "sub/deeper/c": { content: "c\n", mode: 0o700 } },
  ),
  c(
    "copy-relative-dest-workdir",
    "a relative destination is relative to WORKDIR",
    `
    FROM {{busybox}}
    WORKDIR /w
    COPY a.txt rel/
    COPY a.txt rel2.txt
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-relative-dest-root",
    "without WORKDIR a relative destination is relative to /",
    `
    FROM {{busybox}}
    COPY a.txt rel.txt
    COPY a.txt ./dot/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-modes-kept",
    "source file and directory modes are kept",
    `
    FROM {{busybox}}
    COPY tree /t
    `,
    {
      "tree/x": { content: "x\n", mode: 0o755 },
      "tree/ro": { content: "r\n", mode: 0o400 },
      "tree/sticky": { dir: true, mode: 0o1777 },
      "tree/priv": { dir: true, mode: 0o700 },
      "tree/priv/f": { content: "f\n", mode: 0o640 },
    },
  ),
  c(
    "copy-setuid-kept",
    "setuid/setgid bits of a source are kept",
    `
    FROM {{busybox}}
    COPY s /s
    `,
    { "s/suid": { content: "s\n", mode: 0o4755 }, "s/sgid": { content: "g\n", mode: 0o2755 } },
  ),
  c(
    "copy-empty-dir",
    "an empty source directory is created at the destination",
    `
    FROM {{busybox}}
    COPY empty /e
    COPY tree /t
    `,
    { empty: { dir: true, mode: 0o711 }, "tree/inner": { dir: true } },
  ),
  c(
    "copy-into-root",
    "COPY to / puts the file at the root",
    `
    FROM {{busybox}}
    COPY a.txt /
    COPY dir /
    `,
    { "a.txt": "a\n", "dir/top": "t\n" },
  ),
  c(
    "copy-json-form-spaces",
    "the JSON form allows spaces in names",
    `
    FROM {{busybox}}
    COPY ["a b.txt", "/x y/"]
    `,
    { "a b.txt": "spaced\n" },
  ),
  c(
    "copy-unicode-names",
    "non-ASCII names are kept",
    `
    FROM {{busybox}}
    COPY dir /u
    `,
    { "dir/café.txt": "c\n", "dir/日本": "j\n" },
  ),
  c(
    "copy-named-symlink-source",
    "a named symlink source is copied as the file it points to",
    `
    FROM {{busybox}}
    COPY link.txt /l.txt
    `,
    { "real.txt": "real\n", "link.txt": { symlink: "real.txt" } },
  ),
  c(
    "copy-named-symlink-dir-source",
    "a named symlink to a directory copies the directory's contents",
    `
    FROM {{busybox}}
    COPY linkdir /ld
    `,
    { "realdir/f": "f\n", linkdir: { symlink: "realdir" } },
  ),
  c(
    "copy-wildcard-symlink",
    "a symlink matched by a wildcard is copied as the link",
    `
    FROM {{busybox}}
    COPY l* /w/
    `,
    { "target.txt": "t\n", link1: { symlink: "target.txt" } },
  ),
  c(
    "copy-dest-through-symlink-dir",
    "a destination through a symlink to a directory follows the link",
    `
    FROM {{busybox}}
    RUN mkdir /target && ln -s /target /link
    COPY a.txt /link/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-dest-dangling-symlink",
    "a destination through a dangling symlink creates the link's target",
    `
    FROM {{busybox}}
    RUN ln -s target /link
    COPY a.txt /link/sub/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "copy-dest-symlink-file-replaced",
    "copying a file onto a symlink to a file writes through? (file op semantics)",
    `
    FROM {{busybox}}
    RUN echo old > /real && ln -s /real /ln
    COPY a.txt /ln
    `,
    { "a.txt": "new\n" },
  ),
  c(
    "copy-dir-over-symlink-in-dest",
    "a copied directory whose name is a symlink in the image",
    `
    FROM {{busybox}}
    RUN mkdir /data && ln -s /data /app
    COPY app /app/
    `,
    { "app/f": "f\n" },
  ),
  c(
    "copy-file-over-dir-in-image",
    "copying a directory whose entry replaces an image file",
    `
    FROM {{busybox}}
    RUN mkdir -p /d && echo f > /d/x
    COPY src /d
    `,
    { "src/x/inner": "i\n" },
    { fails: true },
  ),
  c(
    "copy-hardlink-named-sources",
    "two named sources that are hard links of each other",
    `
    FROM {{busybox}}
    COPY one two /h/
    `,
    { one: "same\n", two: { hardlink: "one" } },
  ),
  c(
    "copy-hardlink-across-dirs",
    "hard links between subdirectories of a copied directory",
    `
    FROM {{busybox}}
    COPY dir /d
    `,
    { "dir/a/f": "f\n", "dir/b/g": { hardlink: "dir/a/f" } },
  ),
  c(
    "copy-overwrite-keeps-dir-owner",
    "copying into an existing directory keeps that directory's owner and mode",
    `
    FROM {{busybox}}
    COPY dir /home/user/
    `,
    { "dir/f": "f\n" },
  ),
  c(
    "copy-creates-parents-root-owned",
    "parents made for a --chown destination are root-owned? (BuildKit: chown applies to created parents)",
    `
    FROM {{busybox}}
    COPY --chown=1000:1000 a.txt /p/q/r/a.txt
    `,
    { "a.txt": "a\n" },
  ),
];
