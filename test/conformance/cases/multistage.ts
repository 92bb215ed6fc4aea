import { type Case, c } from "../case.js";

/** Multi-stage graphs: COPY --from, targets, stage bases, skipped stages. */
export const multistageCases: Case[] = [
  c(
    "ms-copy-from-name",
    "COPY --from a named stage",
    `
    FROM {{busybox}} AS build
    RUN mkdir /out && echo artefact > /out/a && chmod 0750 /out
    FROM {{busybox}}
    COPY --from=build /out /app
    `,
  ),
  c(
    "ms-copy-from-index",
    "COPY --from by stage index",
    `
    FROM {{busybox}}
    RUN echo zero > /zero
    FROM {{busybox}}
    COPY --from=0 /zero /z
    `,
  ),
  c(
    "ms-copy-from-image",
    "COPY --from an image reference",
    `
    FROM scratch
    COPY --from={{busybox}} /bin/busybox /bb
    COPY --from={{busybox}} /etc/passwd /etc/
    `,
  ),
  c(
    "ms-target-middle",
    "--target builds a middle stage",
    `
    FROM {{busybox}} AS first
    RUN echo 1 > /one
    FROM first AS second
    RUN echo 2 > /two
    FROM second
    RUN echo 3 > /three
    `,
    undefined,
    { target: "second" },
  ),
  c(
    "ms-stage-as-base",
    "FROM a previous stage inherits its files and config",
    `
    FROM {{busybox}} AS base
    ENV FROM_BASE=1
    WORKDIR /w
    RUN echo b > /w/b
    FROM base
    RUN echo c > c
    `,
  ),
  c(
    "ms-name-case",
    "stage names are case-insensitive",
    `
    FROM {{busybox}} AS Builder
    RUN echo b > /b
    FROM {{busybox}}
    COPY --from=builder /b /b
    `,
  ),
  c(
    "ms-diamond",
    "two stages from one base, both copied into the final",
    `
    FROM {{busybox}} AS root
    RUN echo r > /r
    FROM root AS left
    RUN echo l > /l
    FROM root AS right
    RUN echo r2 > /r2
    FROM scratch
    COPY --from=left /l /r /
    COPY --from=right /r2 /
    `,
  ),
  c(
    "ms-unused-stage-skipped",
    "a stage the target does not need is not built",
    `
    FROM {{busybox}} AS broken
    RUN false
    FROM {{busybox}}
    RUN echo ok > /ok
    `,
  ),
  c(
    "ms-global-arg-stages",
    "a global ARG in several stages",
    `
    ARG V=1
    FROM {{busybox}} AS a
    ARG V
    RUN echo a$V > /a
    FROM {{busybox}}
    ARG V
    COPY --from=a /a /a
    RUN echo b$V > /b
    `,
    undefined,
    { buildArgs: { V: "2" } },
  ),
  c(
    "ms-copy-from-symlinks",
    "COPY --from keeps symlinks and modes",
    `
    FROM {{busybox}} AS s
    RUN mkdir /o && echo x > /o/x && ln -s x /o/l && chmod 4755 /o/x
    FROM {{busybox}}
    COPY --from=s /o /o
    `,
  ),
  c(
    "ms-copy-from-hardlinks",
    "COPY --from keeps hard links",
    `
    FROM {{busybox}} AS s
    RUN mkdir /o && echo x > /o/x && ln /o/x /o/y
    FROM {{busybox}}
    COPY --from=s /o /o
    `,
  ),
  c(
    "ms-copy-from-wildcard",
    "COPY --from with a wildcard",
    `
    FROM {{busybox}} AS s
    RUN mkdir /o && echo 1 > /o/a.log && echo 2 > /o/b.log && echo 3 > /o/c.txt
    FROM {{busybox}}
    COPY --from=s /o/*.log /logs/
    `,
  ),
  c(
    "ms-copy-from-file-symlink",
    "COPY --from of a named symlink copies its target file",
    `
    FROM {{busybox}} AS s
    RUN echo real > /real && ln -s /real /link
    FROM {{busybox}}
    COPY --from=s /link /copied
    `,
  ),
  c(
    "ms-copy-from-root-owner",
    "COPY --from keeps the source stage's owners",
    `
    FROM {{busybox}} AS s
    RUN mkdir /o && echo x > /o/x && chown -R 1000:50 /o
    FROM {{busybox}}
    COPY --from=s /o /o
    `,
  ),
  c(
    "ms-onbuild-stage-base",
    "ONBUILD in a stage used as a base",
    `
    FROM {{busybox}} AS base
    ONBUILD RUN echo triggered > /t
    FROM base
    RUN echo after > /after
    `,
  ),
  c(
    "ms-scratch-final-from-stage",
    "scratch final with files from two stages",
    `
    FROM {{busybox}} AS a
    RUN mkdir -p /out/bin && cp /bin/busybox /out/bin/ && echo v > /out/version
    FROM scratch
    COPY --from=a /out /
    `,
  ),
  c(
    "ms-target-first",
    "--target the first stage of three",
    `
    FROM {{busybox}} AS one
    RUN echo 1 > /1
    FROM {{busybox}} AS two
    RUN false
    FROM one
    RUN echo 3 > /3
    `,
    undefined,
    { target: "one" },
  ),
  c(
    "ms-stage-env-not-leaking",
    "ENV of one stage does not leak into an unrelated stage",
    `
    FROM {{busybox}} AS a
    ENV ONLY_A=1
    FROM {{busybox}}
    COPY --from=a /etc/passwd /p
    RUN echo "\${ONLY_A:-unset}" > /seen
    `,
  ),
];
