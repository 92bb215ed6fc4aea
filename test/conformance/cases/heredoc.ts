import { type Case, c } from "../case.js";

const f = (text: string, mode = 0o644) => ({ type: "file", mode, uid: 0, gid: 0, text });

/**
 * Here-documents (reference.md "Here-Documents"). Neither reference has them (Docker 20.10's
 * frontend predates dockerfile 1.4; buildah 1.28 predates its heredoc support), so each case
 * also carries golden expectations written from the reference.
 */
export const heredocCases: Case[] = [
  c(
    "hd-run",
    "RUN with a here-document script",
    `
    FROM {{busybox}}
    RUN <<EOF
    echo one > /one
    echo two > /two
    EOF
    `,
    undefined,
    { golden: { tree: { one: f("one\n"), two: f("two\n") } } },
  ),
  c(
    "hd-run-shebang",
    "a here-document with a shebang runs that interpreter",
    `
    FROM {{busybox}}
    RUN <<EOF
    #!/bin/sh -e
    echo shebang:$0 > /s
    EOF
    `,
    undefined,
    { golden: { tree: { s: { type: "file" } } } },
  ),
  c(
    "hd-copy",
    "COPY a here-document into a file; an unquoted delimiter expands variables",
    `
    FROM {{busybox}}
    ENV NAME=world
    COPY <<EOF /hello.txt
    hello $NAME
    EOF
    `,
    undefined,
    { golden: { tree: { "hello.txt": f("hello world\n") } } },
  ),
  c(
    "hd-copy-quoted",
    "a quoted here-document delimiter disables expansion",
    `
    FROM {{busybox}}
    ENV NAME=world
    COPY <<"EOF" /raw.txt
    hello $NAME
    EOF
    `,
    undefined,
    { golden: { tree: { "raw.txt": f("hello $NAME\n") } } },
  ),
  c(
    "hd-copy-multiple",
    "two here-documents in one COPY are named after their delimiters",
    `
    FROM {{busybox}}
    COPY <<A <<B /dir/
    first
    A
    second
    B
    `,
    undefined,
    { golden: { tree: { "dir/A": f("first\n"), "dir/B": f("second\n") } } },
  ),
  c(
    "hd-copy-chmod",
    "COPY --chmod of a here-document",
    `
    FROM {{busybox}}
    COPY --chmod=0755 <<EOF /run.sh
    #!/bin/sh
    echo hi
    EOF
    `,
    undefined,
    { golden: { tree: { "run.sh": f("#!/bin/sh\necho hi\n", 0o755) } } },
  ),
  c(
    "hd-dash-strips-tabs",
    "<<- strips leading tabs",
    "FROM {{busybox}}\nRUN <<-EOF\n\techo tabbed > /t\n\tEOF\n",
    undefined,
    {
      golden: { tree: { t: f("tabbed\n") } },
    },
  ),
  c(
    "hd-run-cat-file",
    "a here-document as stdin of a command",
    `
    FROM {{busybox}}
    RUN cat <<EOF > /out
    line1
    line2
    EOF
    `,
    undefined,
    { golden: { tree: { out: f("line1\nline2\n") } } },
  ),
];
