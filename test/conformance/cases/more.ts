import { type Case, c } from "../case.js";

/** ADD from a URL (a loopback HTTP server the suite starts), FROM --platform, xattrs and capabilities. */
export const moreCases: Case[] = [
  c(
    "add-url-file",
    "ADD of a URL to a file path: mode 0600, content as served",
    `
    FROM {{busybox}}
    ADD {{http}}/files/hello.txt /h.txt
    `,
  ),
  c(
    "add-url-into-dir",
    "ADD of a URL into a directory takes the URL's last path segment as the name",
    `
    FROM {{busybox}}
    ADD {{http}}/files/hello.txt /d/
    `,
  ),
  c(
    "add-url-tar-not-unpacked",
    "an archive fetched from a URL is not unpacked",
    `
    FROM {{busybox}}
    ADD {{http}}/files/archive.tar /t/
    `,
  ),
  c(
    "add-url-chown",
    "ADD --chown of a URL",
    `
    FROM {{busybox}}
    ADD --chown=user:staff {{http}}/files/hello.txt /home/user/
    `,
  ),
  c(
    "add-url-checksum",
    "ADD --checksum of a URL that matches (dockerfile 1.6)",
    `
    FROM {{busybox}}
    ADD --checksum=sha256:9347bf9e5b6f42fa181ab19631e9011b836363d3a08b05a8faf318868be5882e {{http}}/files/hello.txt /c
    `,
    undefined,
    { golden: { tree: { c: { type: "file", text: "hello from http\n" } } } },
  ),
  c(
    "add-url-checksum-mismatch",
    "ADD --checksum that does not match fails",
    `
    FROM {{busybox}}
    ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 {{http}}/files/hello.txt /c
    `,
    undefined,
    { fails: true },
  ),
  c(
    "add-url-missing-fails",
    "ADD of a URL that answers 404 fails",
    `
    FROM {{busybox}}
    ADD {{http}}/files/nothere /x
    `,
    undefined,
    { fails: true },
  ),
  c(
    "from-platform",
    "FROM --platform=linux/amd64 of a multi-platform index picks amd64",
    `
    FROM --platform=linux/amd64 {{multi}}
    RUN uname -m > /arch
    `,
  ),
  c(
    "from-platform-arg",
    "FROM --platform=$TARGETPLATFORM (automatic ARG)",
    `
    FROM --platform=$TARGETPLATFORM {{multi}}
    ARG TARGETPLATFORM
    RUN echo $TARGETPLATFORM > /p
    `,
  ),
  c(
    "copy-xattrs",
    "COPY keeps a source file's user.* extended attributes",
    `
    FROM {{busybox}}
    COPY x.txt /x.txt
    `,
    { "x.txt": { content: "x\n", xattrs: { "user.note": "kept" } } },
  ),
  c(
    "copy-capabilities",
    "COPY keeps a source file's capabilities (security.capability)",
    `
    FROM {{busybox}}
    COPY bin /bin2
    `,
    { "bin/tool": { content: "#!/bin/sh\n", mode: 0o755, caps: "cap_net_bind_service+ep" } },
  ),
];
