import { type Case, c } from "../case.js";

const F = { "a.txt": "a\n", "b-1.txt": "b\n" };

/** Variable expansion in every instruction that does it (reference.md "Environment replacement"). */
export const expandCases: Case[] = [
  c(
    "exp-copy-src-dest",
    "ENV in COPY sources and destination",
    `
    FROM {{busybox}}
    ENV SRC=a.txt DST=/dst
    COPY $SRC \${DST}/
    `,
    F,
  ),
  c(
    "exp-add",
    "ARG in ADD",
    `
    FROM {{busybox}}
    ARG WHERE=/added
    ADD a.txt $WHERE
    `,
    F,
  ),
  c(
    "exp-workdir",
    "ENV in WORKDIR",
    `
    FROM {{busybox}}
    ENV BASE=/srv
    WORKDIR $BASE/app
    `,
  ),
  c(
    "exp-user",
    "ENV in USER",
    `
    FROM {{busybox}}
    ENV U=user
    USER $U:staff
    `,
  ),
  c(
    "exp-expose",
    "ENV in EXPOSE",
    `
    FROM {{busybox}}
    ENV P=8080
    EXPOSE $P \${P}/udp
    `,
  ),
  c(
    "exp-label",
    "ENV in LABEL keys and values",
    `
    FROM {{busybox}}
    ENV V=value K=key
    LABEL "$K"=$V plain=\${V}-suffix
    `,
  ),
  c(
    "exp-volume",
    "ENV in VOLUME",
    `
    FROM {{busybox}}
    ENV D=/data
    VOLUME $D \${D}2
    `,
  ),
  c(
    "exp-stopsignal",
    "ENV in STOPSIGNAL",
    `
    FROM {{busybox}}
    ENV SIG=SIGQUIT
    STOPSIGNAL $SIG
    `,
  ),
  c(
    "exp-env-in-env",
    "ENV values built from other ENV values",
    `
    FROM {{busybox}}
    ENV A=1
    ENV B=$A-\${A}-x C="$A y"
    `,
  ),
  c(
    "exp-default-colon-forms",
    "the :- and :+ forms on set, empty and unset variables",
    `
    FROM {{busybox}}
    ENV SET=s EMPTY=
    ENV R1=\${SET:-d} R2=\${EMPTY:-d} R3=\${UNSET:-d}
    ENV R6=\${SET:+a} R7=\${EMPTY:+a} R8=\${UNSET:+a}
    `,
  ),
  c(
    "exp-default-nocolon-forms",
    "the - and + forms without colon: empty counts as set",
    `
    FROM {{busybox}}
    ENV SET=s EMPTY=
    ENV R4=\${EMPTY-d} R5=\${UNSET-d} R9=\${EMPTY+a} R10=\${UNSET+a}
    `,
  ),
  c(
    "exp-required-var",
    "the :? form on an unset variable fails the build",
    `
    FROM {{busybox}}
    ENV A=\${NOPE:?must be set}
    `,
    undefined,
    { fails: true },
  ),
  c(
    "exp-pattern-prefix-suffix",
    "pattern removal with %%, #, %, ## (patterns holding - and /)",
    `
    FROM {{busybox}}
    ENV V=1.2.3-beta-rc P=/usr/local/bin
    ENV A=\${V%%-*} B=\${V#*-} C=\${V%.*} D=\${P##*/} E=\${V%-*} F=\${P#/*/}
    `,
    undefined,
    {
      golden: {
        config: {
          Env: [
            "PATH=/bin",
            "V=1.2.3-beta-rc",
            "P=/usr/local/bin",
            "A=1.2.3",
            "B=beta-rc",
            "C=1.2",
            "D=bin",
            "E=1.2.3-beta",
            "F=local/bin",
          ],
        },
      },
    },
  ),
  c(
    "exp-pattern-replace",
    "pattern replacement / and // (pattern -)",
    `
    FROM {{busybox}}
    ENV V=a-b-c
    ENV ONE=\${V/-/_} ALL=\${V//-/_}
    `,
    undefined,
    { golden: { config: { Env: ["PATH=/bin", "V=a-b-c", "ONE=a_b-c", "ALL=a_b_c"] } } },
  ),
  c(
    "exp-escaped-dollar",
    "an escaped $ is literal",
    `
    FROM {{busybox}}
    ENV A=x
    ENV B=\\$A C="\\$A" D='$A'
    `,
  ),
  c(
    "exp-arg-default-override",
    "ARG default, overridden by --build-arg",
    `
    FROM {{busybox}}
    ARG KEEP=default
    ARG OVER=default
    ENV K=$KEEP O=$OVER
    `,
    undefined,
    { buildArgs: { OVER: "given" } },
  ),
  c(
    "exp-arg-before-from",
    "an ARG before FROM names the base image",
    `
    ARG BASE={{busybox}}
    FROM $BASE
    RUN echo ok > /ok
    `,
  ),
  c(
    "exp-arg-global-redeclared",
    "a global ARG is visible in a stage only when redeclared",
    `
    ARG G=global
    FROM {{busybox}}
    ENV BEFORE=x\${G}x
    ARG G
    ENV AFTER=x\${G}x
    `,
  ),
  c(
    "exp-env-beats-arg",
    "ENV of the same name wins over ARG",
    `
    FROM {{busybox}}
    ARG N=from-arg
    ENV N=from-env
    RUN echo $N > /n
    `,
    undefined,
    { buildArgs: { N: "from-build-arg" } },
  ),
  c(
    "exp-arg-in-run-not-config",
    "ARG is in RUN's environment, not the image's",
    `
    FROM {{busybox}}
    ARG TOKEN
    RUN echo "$TOKEN" > /token
    `,
    undefined,
    { buildArgs: { TOKEN: "t0k" } },
  ),
  c(
    "exp-unused-build-arg",
    "a --build-arg no ARG declares is ignored",
    `
    FROM {{busybox}}
    RUN echo \${UNDECLARED:-none} > /u
    `,
    undefined,
    { buildArgs: { UNDECLARED: "x" } },
  ),
  c(
    "exp-platform-args",
    "TARGETPLATFORM / TARGETOS / TARGETARCH / BUILDPLATFORM when declared",
    `
    FROM {{busybox}}
    ARG TARGETPLATFORM
    ARG TARGETOS
    ARG TARGETARCH
    ARG BUILDOS
    RUN echo "$TARGETPLATFORM $TARGETOS $TARGETARCH $BUILDOS" > /p
    `,
  ),
  c(
    "exp-platform-args-undeclared",
    "platform ARGs are not set in a stage without ARG",
    `
    FROM {{busybox}}
    RUN echo "[\${TARGETARCH}]" > /p
    `,
  ),
  c(
    "exp-copy-from-arg",
    "COPY --from does not expand a stage ARG: every builder refuses",
    `
    FROM {{busybox}} AS one
    RUN echo one > /one
    FROM {{busybox}}
    ARG SRC=one
    COPY --from=$SRC /one /copied
    `,
    undefined,
    { fails: true },
  ),
  c(
    "exp-no-expansion-in-run-json",
    "exec-form RUN passes $ literally",
    `
    FROM {{busybox}}
    ENV X=val
    RUN ["/bin/sh", "-c", "echo '$X' > /lit"]
    `,
  ),
  c(
    "exp-braces-adjacent",
    "where a variable name ends: braces, dots, underscores",
    `
    FROM {{busybox}}
    ENV A=x
    ENV B=\${A}text C=$A.txt D=$A_suffix E=pre$A
    `,
  ),
  c(
    "exp-onbuild-not-expanded",
    "ONBUILD text is stored unexpanded",
    `
    FROM {{busybox}}
    ENV X=now
    ONBUILD RUN echo $X
    `,
  ),
  c(
    "exp-healthcheck-not-expanded",
    "HEALTHCHECK command text is stored unexpanded",
    `
    FROM {{busybox}}
    ENV X=now
    HEALTHCHECK CMD echo $X
    `,
  ),
];
