import { type Case, c } from "../case.js";

/** RUN: what a command changes lands in the layer — additions, deletions, replacements, metadata. */
export const runCases: Case[] = [
  c(
    "run-create-modes",
    "files, dirs, modes and owners made by RUN",
    `
    FROM {{busybox}}
    RUN mkdir -p /data/sub && echo one > /data/one && chmod 0640 /data/one && chown 1000:50 /data/sub && chmod 2775 /data/sub
    `,
  ),
  c(
    "run-delete-base-file",
    "deleting base files whites them out",
    `
    FROM {{busybox}}
    RUN rm /bin/vi /etc/group
    `,
  ),
  c(
    "run-delete-base-dir",
    "deleting a base directory tree",
    `
    FROM {{busybox}}
    RUN rm -rf /home/user
    `,
  ),
  c(
    "run-opaque-dir",
    "a directory deleted and recreated in one RUN loses its old files",
    `
    FROM {{busybox}}
    RUN mkdir -p /opt/a/b && echo 1 > /opt/a/b/f && echo 2 > /opt/a/keep
    RUN rm -rf /opt/a/b && mkdir /opt/a/b && echo 3 > /opt/a/b/new
    `,
  ),
  c(
    "run-opaque-base-dir",
    "a base directory emptied and refilled in one RUN",
    `
    FROM {{busybox}}
    RUN rm -rf /home && mkdir /home && echo x > /home/only
    `,
  ),
  c(
    "run-replace-file-with-dir",
    "a file replaced by a directory of the same name",
    `
    FROM {{busybox}}
    RUN echo f > /x
    RUN rm /x && mkdir /x && echo in > /x/y
    `,
  ),
  c(
    "run-replace-dir-with-file",
    "a directory replaced by a file of the same name",
    `
    FROM {{busybox}}
    RUN mkdir -p /x/sub && echo in > /x/sub/y
    RUN rm -rf /x && echo f > /x
    `,
  ),
  c(
    "run-replace-dir-with-symlink",
    "a directory replaced by a symlink",
    `
    FROM {{busybox}}
    RUN mkdir -p /x && echo in > /x/y && mkdir /z
    RUN rm -rf /x && ln -s /z /x
    `,
  ),
  c(
    "run-replace-symlink-with-dir",
    "a symlink replaced by a directory",
    `
    FROM {{busybox}}
    RUN mkdir /z && echo z > /z/f && ln -s /z /x
    RUN rm /x && mkdir /x && echo own > /x/g
    `,
  ),
  c(
    "run-replace-file-with-symlink",
    "a file replaced by a symlink and a symlink by a file",
    `
    FROM {{busybox}}
    RUN echo f > /a && ln -s /etc/passwd /b
    RUN rm /a /b && ln -s /etc/group /a && echo b > /b
    `,
  ),
  c(
    "run-recreate-file",
    "a file deleted and written again with new content",
    `
    FROM {{busybox}}
    RUN echo old > /f && echo keep > /g
    RUN rm /f && echo new > /f
    `,
  ),
  c(
    "run-metadata-only",
    "chmod and chown alone on base files change the layer",
    `
    FROM {{busybox}}
    RUN chmod 0700 /home/user && chown 1000:50 /etc/passwd && chmod 0600 /etc/passwd
    `,
  ),
  c(
    "run-hardlinks",
    "hard links made by RUN, including to a lower-layer file",
    `
    FROM {{busybox}}
    RUN echo x > /a && ln /a /b
    RUN ln /etc/passwd /passwd-link && ln /a /c
    `,
  ),
  c(
    "run-symlinks",
    "relative, absolute and dangling symlinks",
    `
    FROM {{busybox}}
    RUN ln -s ../etc/passwd /rel && ln -s /etc/group /abs && ln -s /nowhere /dangling
    `,
  ),
  c(
    "run-fifo",
    "a FIFO made by RUN",
    `
    FROM {{busybox}}
    RUN mkfifo -m 0640 /pipe
    `,
  ),
  c(
    "run-deep-whiteout",
    "a file deleted two layers after its directory was made",
    `
    FROM {{busybox}}
    RUN mkdir -p /p/q && echo 1 > /p/q/one && echo 2 > /p/q/two
    RUN echo 3 > /p/q/three
    RUN rm /p/q/one && rm -r /p/q/../q/two
    `,
  ),
  c(
    "run-umask",
    "files made by RUN get umask 022 modes",
    `
    FROM {{busybox}}
    RUN touch /f && mkdir /d && umask
    `,
  ),
  c(
    "run-exec-form",
    "exec-form RUN runs without a shell",
    `
    FROM {{busybox}}
    RUN ["/bin/sh", "-c", "echo exec > /exec.txt"]
    RUN ["touch", "/touched"]
    `,
  ),
  c(
    "run-exec-form-no-expansion",
    "exec-form RUN does not expand variables itself",
    `
    FROM {{busybox}}
    ENV V=value
    RUN ["/bin/sh", "-c", "echo $V > /shell-expanded"]
    RUN ["/bin/echo", "$V"]
    `,
  ),
  c(
    "run-workdir-cwd",
    "RUN runs in WORKDIR",
    `
    FROM {{busybox}}
    WORKDIR /w/x
    RUN pwd > here && touch rel
    `,
  ),
  c(
    "run-env-visible",
    "ENV and ARG are visible to RUN",
    `
    FROM {{busybox}}
    ARG A=from-arg
    ENV E=from-env
    RUN echo "$A $E" > /seen
    `,
  ),
  c(
    "run-user-files",
    "files made under USER are owned by that user",
    `
    FROM {{busybox}}
    USER user
    RUN echo u > /home/user/u.txt && mkdir /home/user/d && touch /tmp/t
    `,
  ),
  c(
    "run-user-id",
    "id under USER name: uid, gid and supplementary groups",
    `
    FROM {{busybox}}
    USER user
    RUN id > /tmp/id && id -G > /tmp/groups
    `,
  ),
  c(
    "run-user-uid",
    "USER by uid alone",
    `
    FROM {{busybox}}
    USER 1000
    RUN id > /tmp/id
    `,
  ),
  c(
    "run-user-name-group",
    "USER name:group gives exactly that group",
    `
    FROM {{busybox}}
    USER user:staff
    RUN id > /tmp/id
    `,
  ),
  c(
    "run-user-root-back",
    "USER back to root",
    `
    FROM {{busybox}}
    USER user
    USER root
    RUN id > /id
    `,
  ),
  c(
    "run-shell-instruction",
    "SHELL changes the shell of shell-form RUN",
    `
    FROM {{busybox}}
    SHELL ["/bin/sh", "-c", "echo shell:$0 > /shell-arg; eval \\"$1\\""]
    RUN echo hi > /hi
    `,
  ),
  c(
    "run-fails",
    "a failing command fails the build",
    `
    FROM {{busybox}}
    RUN false
    `,
    undefined,
    { fails: true },
  ),
  c(
    "run-pipes",
    "shell features in shell-form RUN",
    `
    FROM {{busybox}}
    RUN echo abc | tr a-c x-z > /t && for i in 1 2 3; do echo $i >> /loop; done && [ -f /t ] && echo yes > /test
    `,
  ),
  c(
    "run-many-layers",
    "changes spread over many RUNs add up",
    `
    FROM {{busybox}}
    RUN mkdir /m && echo 1 > /m/1
    RUN echo 2 > /m/2 && rm /m/1
    RUN mv /m/2 /m/two && chmod 600 /m/two
    RUN mkdir /m/1 && touch /m/1/x
    `,
  ),
  c(
    "run-mount-bind",
    "RUN --mount=type=bind reads a context file without copying it",
    `
    FROM {{busybox}}
    RUN --mount=type=bind,source=a.txt,target=/mnt/a cat /mnt/a > /copied
    `,
    { "a.txt": "bound\n" },
  ),
  c(
    "run-etc-hosts-not-kept",
    "a RUN that reads /etc/hosts and resolv.conf leaves no trace of them",
    `
    FROM {{busybox}}
    RUN cat /etc/hosts > /dev/null; cat /etc/resolv.conf > /dev/null; echo ok > /ok
    `,
  ),
  c(
    "run-tmp-kept",
    "files in /tmp made by RUN are kept",
    `
    FROM {{busybox}}
    RUN echo t > /tmp/t && mkdir /tmp/d
    `,
  ),
];
