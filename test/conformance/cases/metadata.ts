import { type Case, c } from "../case.js";

/** Instructions that change the image config (and WORKDIR, which also makes a directory). */
export const metadataCases: Case[] = [
  c(
    "meta-env-forms",
    "ENV key=value pairs, quoting, and the legacy whitespace form",
    `
    FROM {{busybox}}
    ENV A=1 B="two words" C='single $quoted'
    ENV LEGACY spaced out value
    ENV D=with\\ escaped\\ space
    `,
  ),
  c(
    "meta-env-path-append",
    "ENV can extend PATH from the base",
    `
    FROM {{busybox}}
    ENV PATH=/opt/bin:$PATH
    `,
  ),
  c(
    "meta-env-same-line",
    "one ENV's pairs see the values from before the instruction",
    `
    FROM {{busybox}}
    ENV A=old
    ENV A=new B=$A
    `,
  ),
  c(
    "meta-label-forms",
    "LABEL keys and values, quoting, several per line",
    `
    FROM {{busybox}}
    LABEL org.example.a="x" b=y "quoted key"="v w"
    LABEL multi="line \\
    continued"
    `,
  ),
  c(
    "meta-label-override-base",
    "LABEL overrides an inherited label and adds to the others",
    `
    FROM {{richcfg}}
    LABEL override.me=child new=1
    `,
  ),
  c(
    "meta-expose",
    "EXPOSE ports and protocols",
    `
    FROM {{busybox}}
    EXPOSE 80 443/tcp 53/udp
    EXPOSE 8080/TCP
    `,
  ),
  c(
    "meta-expose-range",
    "EXPOSE a port range",
    `
    FROM {{busybox}}
    EXPOSE 7000-7002/udp
    `,
  ),
  c(
    "meta-cmd-entrypoint",
    "exec-form ENTRYPOINT and shell-form CMD",
    `
    FROM {{busybox}}
    ENTRYPOINT ["/bin/echo", "hi"]
    CMD echo world
    `,
  ),
  c(
    "meta-entrypoint-shell-form",
    "shell-form ENTRYPOINT",
    `
    FROM {{busybox}}
    ENTRYPOINT exec echo entry
    `,
  ),
  c(
    "meta-entrypoint-resets-cmd",
    "ENTRYPOINT resets a CMD inherited from the base",
    `
    FROM {{richcfg}}
    ENTRYPOINT ["/bin/true"]
    `,
  ),
  c(
    "meta-entrypoint-keeps-own-cmd",
    "a CMD after ENTRYPOINT in the same stage stays",
    `
    FROM {{richcfg}}
    CMD ["arg"]
    ENTRYPOINT ["/bin/echo"]
    CMD ["arg2"]
    `,
  ),
  c(
    "meta-cmd-invalid-json",
    "a CMD that is not valid JSON is the shell form",
    `
    FROM {{busybox}}
    CMD [echo, hi]
    `,
  ),
  c(
    "meta-cmd-no-expansion",
    "CMD and ENTRYPOINT do not expand variables",
    `
    FROM {{busybox}}
    ENV X=value
    CMD echo $X
    ENTRYPOINT ["/bin/sh", "-c", "echo \${X}"]
    `,
  ),
  c(
    "meta-cmd-uses-shell",
    "shell-form CMD uses the SHELL in force",
    `
    FROM {{busybox}}
    SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
    CMD echo hi | cat
    `,
  ),
  c(
    "meta-healthcheck",
    "HEALTHCHECK with every option",
    `
    FROM {{busybox}}
    HEALTHCHECK --interval=5s --timeout=3s --start-period=2s --retries=4 CMD wget -q -O- http://localhost/ || exit 1
    `,
  ),
  c(
    "meta-healthcheck-exec",
    "exec-form HEALTHCHECK with defaults",
    `
    FROM {{busybox}}
    HEALTHCHECK CMD ["/bin/true"]
    `,
  ),
  c(
    "meta-healthcheck-none",
    "HEALTHCHECK NONE disables an inherited check",
    `
    FROM {{richcfg}}
    HEALTHCHECK NONE
    `,
  ),
  c(
    "meta-stopsignal",
    "STOPSIGNAL by name",
    `
    FROM {{busybox}}
    STOPSIGNAL SIGTERM
    `,
  ),
  c(
    "meta-stopsignal-number",
    "STOPSIGNAL by number",
    `
    FROM {{busybox}}
    STOPSIGNAL 9
    `,
  ),
  c(
    "meta-user-forms",
    "USER name, uid:gid",
    `
    FROM {{busybox}}
    USER user
    USER 1000:50
    `,
  ),
  c(
    "meta-shell",
    "SHELL is recorded in the config",
    `
    FROM {{busybox}}
    SHELL ["/bin/sh", "-xc"]
    `,
  ),
  c(
    "meta-maintainer",
    "MAINTAINER is accepted",
    `
    FROM {{busybox}}
    MAINTAINER someone <a@example.org>
    `,
  ),
  c(
    "meta-inherit-all",
    "every config field is inherited from the base",
    `
    FROM {{richcfg}}
    `,
  ),
  c(
    "meta-inherit-then-change",
    "inherited fields changed by the child",
    `
    FROM {{richcfg}}
    USER root
    WORKDIR sub
    ENV BASE_ENV=child
    EXPOSE 9090
    STOPSIGNAL SIGHUP
    `,
  ),
  c(
    "meta-workdir-relative",
    "relative WORKDIRs join onto the previous one",
    `
    FROM {{busybox}}
    WORKDIR a
    WORKDIR b/../c
    WORKDIR ./d
    `,
  ),
  c(
    "meta-workdir-absolute-trailing",
    "an absolute WORKDIR is stored as written",
    `
    FROM {{busybox}}
    WORKDIR /tmp/
    `,
  ),
  c(
    "meta-workdir-creates",
    "WORKDIR creates the directory with parents",
    `
    FROM {{busybox}}
    WORKDIR /srv/app/data
    `,
  ),
  c(
    "meta-workdir-user-owner",
    "WORKDIR made under USER is owned by that user",
    `
    FROM {{busybox}}
    USER user
    WORKDIR /srv/mine
    `,
  ),
  c(
    "meta-workdir-user-uid",
    "WORKDIR under USER 9999 (not in passwd) gives 9999:9999",
    `
    FROM {{busybox}}
    USER 9999
    WORKDIR /w
    `,
  ),
  c(
    "meta-workdir-scratch-root",
    "USER root + WORKDIR on scratch",
    `
    FROM scratch
    USER root
    WORKDIR /x
    `,
  ),
  c(
    "meta-workdir-scratch-name",
    "USER name (no passwd) + WORKDIR on scratch",
    `
    FROM scratch
    USER app
    WORKDIR /x
    `,
  ),
  c(
    "meta-workdir-nopasswd",
    "USER name on an image without passwd, then WORKDIR",
    `
    FROM {{nopasswd}}
    USER app
    WORKDIR /x
    `,
  ),
  c(
    "meta-workdir-existing",
    "WORKDIR on an existing directory leaves it alone",
    `
    FROM {{busybox}}
    USER user
    WORKDIR /tmp
    `,
  ),
  c(
    "meta-onbuild-recorded",
    "ONBUILD triggers are recorded, not run",
    `
    FROM {{busybox}}
    ONBUILD RUN echo later > /later
    ONBUILD COPY a.txt /a
    `,
  ),
  c(
    "meta-onbuild-triggered",
    "a base image's ONBUILD triggers run and are cleared",
    `
    FROM {{onbuild}}
    RUN cat /onbuild.txt > /seen && echo $FROM_ONBUILD > /env-seen
    `,
    { "a.txt": "for the trigger\n" },
  ),
  c(
    "meta-arg-not-in-env",
    "ARG values never reach the config's Env",
    `
    FROM {{busybox}}
    ARG SECRETISH=value
    RUN echo built
    `,
  ),
  c(
    "meta-scratch-config",
    "a scratch image's config",
    `
    FROM scratch
    COPY a.txt /
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "meta-volume-forms",
    "VOLUME JSON and plain forms, several paths",
    `
    FROM {{busybox}}
    VOLUME /data
    VOLUME ["/v1", "/v2"]
    VOLUME /v3 /v4
    `,
  ),
];
