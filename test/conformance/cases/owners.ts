import { type Case, c } from "../case.js";

const A = { "a.txt": "a\n", "dir/b": "b\n", "dir/sub/c": "c\n" };

/** --chown / --chmod on COPY and ADD, on busybox (passwd + group), without passwd, and on scratch. */
export const ownerCases: Case[] = [
  c(
    "chown-name-group",
    "--chown=user:staff resolves names in the image's passwd and group",
    `
    FROM {{busybox}}
    COPY --chown=user:staff a.txt dir /owned/
    `,
    A,
  ),
  c(
    "chown-name-only",
    "--chown=user takes the user's primary group",
    `
    FROM {{busybox}}
    COPY --chown=user a.txt /a
    `,
    A,
  ),
  c(
    "chown-numeric-pair",
    "--chown=1234:5678 needs no passwd",
    `
    FROM {{busybox}}
    COPY --chown=1234:5678 dir /d
    `,
    A,
  ),
  c(
    "chown-uid-only",
    "--chown=1234 alone gives gid = uid",
    `
    FROM {{busybox}}
    COPY --chown=1234 a.txt /a
    `,
    A,
  ),
  c(
    "chown-name-numeric-group",
    "--chown=user:50 mixes a name and a number",
    `
    FROM {{busybox}}
    COPY --chown=user:50 a.txt /a
    `,
    A,
  ),
  c(
    "chown-numeric-name-group",
    "--chown=1000:staff",
    `
    FROM {{busybox}}
    COPY --chown=1000:staff a.txt /a
    `,
    A,
  ),
  c(
    "chown-root",
    "--chown=root:root",
    `
    FROM {{busybox}}
    COPY --chown=root:root a.txt /a
    `,
    A,
  ),
  c(
    "chown-unknown-user",
    "--chown with a user the image's passwd lacks gives 0:0 (file/user_linux.go readUser)",
    `
    FROM {{busybox}}
    COPY --chown=nosuchuser a.txt /a
    `,
    A,
  ),
  c(
    "chown-unknown-group",
    "--chown with a group the image's group file lacks keeps the user's gid",
    `
    FROM {{busybox}}
    COPY --chown=user:nosuchgroup a.txt /a
    `,
    A,
  ),
  c(
    "chown-nopasswd-numeric",
    "numeric --chown on an image without /etc/passwd",
    `
    FROM {{nopasswd}}
    COPY --chown=42:43 dir /d
    `,
    A,
  ),
  c(
    "chown-nopasswd-name",
    "a --chown name on an image without /etc/passwd",
    `
    FROM {{nopasswd}}
    COPY --chown=user a.txt /a
    `,
    A,
  ),
  c(
    "chown-nopasswd-root",
    "--chown=root on an image without /etc/passwd",
    `
    FROM {{nopasswd}}
    COPY --chown=root a.txt /a
    `,
    A,
  ),
  c(
    "chown-scratch-numeric",
    "numeric --chown on scratch",
    `
    FROM scratch
    COPY --chown=7:8 dir /d
    `,
    A,
  ),
  c(
    "chown-scratch-uid-only",
    "--chown=7 on scratch gives 7:7",
    `
    FROM scratch
    COPY --chown=7 a.txt /a
    `,
    A,
  ),
  c(
    "chown-scratch-name",
    "a --chown name on scratch (no passwd at all)",
    `
    FROM scratch
    COPY --chown=user:group a.txt /a
    `,
    A,
  ),
  c(
    "chmod-octal",
    "--chmod=0640 applies to files and directories copied",
    `
    FROM {{busybox}}
    COPY --chmod=0640 a.txt /a
    COPY --chmod=750 dir /d
    `,
    A,
  ),
  c(
    "chmod-and-chown",
    "--chmod and --chown together",
    `
    FROM {{busybox}}
    COPY --chown=user:staff --chmod=0600 dir /d
    `,
    A,
  ),
  c(
    "chmod-scratch",
    "--chmod on scratch",
    `
    FROM scratch
    COPY --chmod=0755 a.txt /bin/a
    `,
    A,
  ),
  c(
    "chmod-setuid",
    "--chmod=4755 sets the setuid bit",
    `
    FROM {{busybox}}
    COPY --chmod=4755 a.txt /suid
    `,
    A,
  ),
  c(
    "chmod-nopasswd",
    "--chmod on an image without passwd",
    `
    FROM {{nopasswd}}
    COPY --chmod=0444 a.txt /a
    `,
    A,
  ),
  c(
    "chown-arg-expanded",
    "--chown takes ARG values",
    `
    FROM {{busybox}}
    ARG OWNER=1000:50
    COPY --chown=$OWNER a.txt /a
    `,
    A,
  ),
  c(
    "chown-env-expanded",
    "--chown takes ENV values",
    `
    FROM {{busybox}}
    ENV U=user G=staff
    COPY --chown=\${U}:\${G} a.txt /a
    `,
    A,
  ),
  c(
    "chmod-arg-expanded",
    "--chmod takes ARG values",
    `
    FROM {{busybox}}
    ARG MODE=0700
    COPY --chmod=$MODE dir /d
    `,
    A,
  ),
  c(
    "add-chown",
    "ADD --chown on a plain file",
    `
    FROM {{busybox}}
    ADD --chown=1000:50 a.txt /a
    `,
    A,
  ),
  c(
    "user-does-not-chown-copy",
    "USER does not change COPY's owner (0:0)",
    `
    FROM {{busybox}}
    USER user
    COPY a.txt /home/user/a
    `,
    A,
  ),
  c(
    "chown-from-stage",
    "--chown on COPY --from",
    `
    FROM {{busybox}} AS src
    RUN mkdir /out && echo x > /out/x && chown 5:5 /out/x
    FROM {{busybox}}
    COPY --from=src --chown=user:staff /out /in
    COPY --from=src /out /kept
    `,
  ),
];
