import { type Case, c } from "../case.js";

/** Parsing: continuation, comments, escape directive, case, JSON forms, errors. */
export const syntaxCases: Case[] = [
  c(
    "syn-continuation",
    "backslash continuation joins lines",
    `
    FROM {{busybox}}
    RUN echo one \\
        two \\
      three > /joined
    `,
  ),
  c(
    "syn-comment-in-continuation",
    "comment lines inside a continuation are dropped",
    `
    FROM {{busybox}}
    RUN echo a \\
    # a comment in the middle
        b > /ab
    `,
  ),
  c(
    "syn-empty-continuation-line",
    "an empty line inside a continuation is skipped",
    `
    FROM {{busybox}}
    RUN echo a \\

        b > /ab
    `,
  ),
  c(
    "syn-escape-directive",
    "# escape=` makes the backtick the escape character",
    `
    # escape=\`
    FROM {{busybox}}
    RUN echo C:\\path\\x > /win && \`
        echo next > /next
    `,
  ),
  c(
    "syn-trailing-escaped-escape",
    "a line ending in an escaped backslash does not continue",
    `
    FROM {{busybox}}
    ENV C=a\\\\
    RUN echo "$C" > /c
    `,
  ),
  c(
    "syn-lowercase",
    "instructions are case-insensitive",
    `
    from {{busybox}}
    run echo lower > /l
    Env K=v
    copy a.txt /a
    `,
    { "a.txt": "a\n" },
  ),
  c(
    "syn-leading-whitespace",
    "leading whitespace before instructions and comments",
    `
    FROM {{busybox}}
        # indented comment
      RUN echo x > /x
    `,
  ),
  c(
    "syn-json-single-quotes-is-shell",
    "a JSON-looking form with single quotes is the shell form",
    `
    FROM {{busybox}}
    RUN echo ['x', 'y'] > /o
    CMD ['not', 'json']
    `,
    undefined,
    {},
  ),
  c(
    "syn-unknown-instruction",
    "an unknown instruction fails the build",
    `
    FROM {{busybox}}
    FROBNICATE now
    `,
    undefined,
    { fails: true },
  ),
  c(
    "syn-no-from",
    "a Dockerfile without FROM fails",
    `
    RUN echo x
    `,
    undefined,
    { fails: true },
  ),
  c(
    "syn-directive-after-comment-ignored",
    "a directive after a comment is just a comment",
    `
    # hello
    # escape=\`
    FROM {{busybox}}
    RUN echo a\\
    b > /ab
    `,
  ),
  c("syn-crlf", "CRLF line endings", "FROM {{busybox}}\r\nRUN echo crlf > /c\r\nENV A=b\r\n"),
  c(
    "syn-env-trailing-spaces",
    "trailing spaces after an ENV value",
    "FROM {{busybox}}\nENV A=b   \nLABEL l=v   \n",
  ),
  c(
    "syn-json-exec-escapes",
    "JSON strings with escapes in exec form",
    `
    FROM {{busybox}}
    RUN ["/bin/sh", "-c", "printf 'tab\\\\tquote\\\\x22\\\\n' > /esc"]
    CMD ["echo", "a\\"b", "\\u00e9"]
    `,
  ),
  c(
    "syn-copy-flags-order",
    "COPY flags in any order",
    `
    FROM {{busybox}}
    COPY --chmod=0600 --chown=1:1 a.txt /a
    `,
    { "a.txt": "a\n" },
  ),
];
