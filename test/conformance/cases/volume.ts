import { type Case, c } from "../case.js";

/** VOLUME is metadata only; changes under a volume made after it are kept (BuildKit). */
export const volumeCases: Case[] = [
  c(
    "vol-metadata-only",
    "VOLUME does not create the directory",
    `
    FROM {{busybox}}
    VOLUME /data
    `,
  ),
  c(
    "vol-run-changes-kept",
    "a RUN writing under a declared volume keeps its files",
    `
    FROM {{busybox}}
    VOLUME /data
    RUN mkdir -p /data && echo kept > /data/f
    `,
  ),
  c(
    "vol-copy-into",
    "COPY into a declared volume",
    `
    FROM {{busybox}}
    VOLUME ["/data"]
    COPY a.txt /data/
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "vol-existing-dir",
    "VOLUME on an existing directory, then changes in it",
    `
    FROM {{busybox}}
    RUN mkdir /v && echo before > /v/before
    VOLUME /v
    RUN echo after > /v/after && rm /v/before
    `,
  ),
  c(
    "vol-inherited",
    "a base image's volume, written to by the child",
    `
    FROM {{richcfg}}
    USER root
    RUN mkdir -p /vol && echo child > /vol/c
    VOLUME /more
    `,
  ),
];
