import { type Case, c } from "../case.js";

const CTX = {
  "a.txt": "a\n",
  "b.log": "b\n",
  "keep.txt": "k\n",
  "dir/x.txt": "x\n",
  "dir/y.keep": "y\n",
  "dir/sub/z.keep": "z\n",
  "dir/sub/w.txt": "w\n",
  "deep/one/two/important.tmp": "i\n",
  "deep/one/two/junk.tmp": "j\n",
  "deep/junk.tmp": "j\n",
  "other/file": "o\n",
};

const di = (name: string, about: string, ignore: string, dockerfile?: string, fails?: true): Case =>
  c(
    name,
    about,
    dockerfile ?? "FROM {{busybox}}\nCOPY . /ctx/\n",
    { ...CTX, ".dockerignore": ignore },
    fails ? { fails } : {},
  );

/** .dockerignore: patterns, exceptions, and exceptions that reach into excluded directories. */
export const ignoreCases: Case[] = [
  di("di-basic", "a plain pattern excludes matching files", "*.log\n"),
  di("di-dir", "a directory pattern excludes the whole tree", "dir\n"),
  di("di-exception", "! re-includes a file excluded by an earlier pattern", "*.txt\n!keep.txt\n"),
  di(
    "di-exception-wildcard-in-excluded-dir",
    "an exception with a wildcard inside an excluded directory walks that directory (fsutil)",
    "dir\n!dir/*.keep\n",
  ),
  di(
    "di-exception-deep-wildcard",
    "an exception below an excluded directory, several levels down",
    "dir\n!dir/sub/*.keep\n",
  ),
  di("di-double-star", "** matches any number of directories", "**/*.tmp\n"),
  di("di-double-star-exception", "** exclusion with a ** exception", "**/*.tmp\n!**/important.tmp\n"),
  di("di-order-matters", "a later pattern re-excludes what an exception let in", "*.txt\n!keep.txt\nkeep*\n"),
  di("di-leading-slash-dot", "leading / and ./ are stripped from patterns", "/a.txt\n./b.log\n"),
  di("di-comments-blank", "comments and blank lines are ignored", "# a comment\n\n   \nother\n"),
  di("di-question-mark", "? matches one character", "?.txt\n"),
  di("di-everything-but", "exclude everything, then re-include one directory", "*\n!dir\n"),
  di("di-exclude-dir-keep-subdir", "exclude a directory but keep a subdirectory of it", "dir\n!dir/sub\n"),
  di("di-trailing-slash", "a trailing slash in a pattern matches the directory", "other/\n"),
  di(
    "di-dockerfile-listed",
    "a listed Dockerfile and .dockerignore are still used but not copied",
    "Dockerfile\n.dockerignore\n",
  ),
  di(
    "di-copy-ignored-fails",
    "COPY of an excluded file fails as if it were missing",
    "b.log\n",
    "FROM {{busybox}}\nCOPY b.log /b\n",
    true,
  ),
  di(
    "di-wildcard-copy-respects",
    "a wildcard COPY sees only files not excluded",
    "dir/*.txt\n",
    "FROM {{busybox}}\nCOPY dir /d\n",
  ),
  di("di-char-class", "character classes in patterns", "[ab].*\n"),
  di("di-exception-only", "an exception with nothing excluded changes nothing", "!a.txt\n"),
  di(
    "di-negated-dir-contents",
    "exclude a directory's contents but re-include the directory's files of one kind",
    "deep/**\n!deep/**/important.tmp\n",
  ),
];
