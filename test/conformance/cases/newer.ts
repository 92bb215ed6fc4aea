import { type Case, c } from "../case.js";

/** Flags newer than one or both references (Docker 20.10's 2021 frontend, buildah 1.28). */
export const newerCases: Case[] = [
  c(
    "new-add-chmod",
    "ADD --chmod (dockerfile 1.3+ labs, stable later)",
    `
    FROM {{busybox}}
    ADD --chmod=0700 a.txt /a
    `,
    { "a.txt": "a\n" },
    { golden: { tree: { a: { type: "file", mode: 0o700, text: "a\n" } } } },
  ),
  c(
    "new-copy-link",
    "COPY --link gives the same tree as a plain COPY",
    `
    FROM {{busybox}}
    COPY --link a.txt dir /linked/
    `,
    { "a.txt": "a\n", "dir/b": "b\n" },
  ),
  c(
    "new-copy-parents",
    "COPY --parents keeps the source's directories",
    `
    FROM {{busybox}}
    COPY --parents x/a.txt y/z/*.txt /out/
    `,
    { "x/a.txt": "a\n", "y/z/b.txt": "b\n", "y/z/c.md": "c\n" },
    {
      golden: {
        tree: {
          "out/x/a.txt": { text: "a\n" },
          "out/y/z/b.txt": { text: "b\n" },
          "out/y/z/c.md": null,
          "out/a.txt": null,
        },
      },
    },
  ),
  c(
    "new-copy-exclude",
    "COPY --exclude leaves matching files out",
    `
    FROM {{busybox}}
    COPY --exclude=*.md --exclude=sub/skip dir /d
    `,
    { "dir/a.txt": "a\n", "dir/b.md": "b\n", "dir/sub/skip": "s\n", "dir/sub/keep": "k\n" },
    {
      golden: {
        tree: {
          "d/a.txt": { text: "a\n" },
          "d/sub/keep": { text: "k\n" },
          "d/b.md": null,
          "d/sub/skip": null,
        },
      },
    },
  ),
  c(
    "new-chmod-symbolic",
    "symbolic --chmod=u=rwx,g=rx,o= (dockerfile 1.10)",
    `
    FROM {{busybox}}
    COPY --chmod=u=rwx,g=rx,o= a.txt dir /s/
    `,
    { "a.txt": "a\n", "dir/b": "b\n" },
    { golden: { tree: { "s/a.txt": { mode: 0o750 }, "s/b": { mode: 0o750 } } } },
  ),
  c(
    "new-healthcheck-start-interval",
    "HEALTHCHECK --start-interval",
    `
    FROM {{busybox}}
    HEALTHCHECK --start-period=10s --start-interval=2s CMD true
    `,
    undefined,
    {
      golden: {
        config: {
          Healthcheck: {
            StartInterval: 2_000_000_000,
            StartPeriod: 10_000_000_000,
            Test: ["CMD-SHELL", "true"],
          },
        },
      },
    },
  ),
  c(
    "new-add-exclude",
    "ADD --exclude",
    `
    FROM {{busybox}}
    ADD --exclude=*.log dir /d
    `,
    { "dir/a.txt": "a\n", "dir/b.log": "b\n" },
    { golden: { tree: { "d/a.txt": { text: "a\n" }, "d/b.log": null } } },
  ),
];
