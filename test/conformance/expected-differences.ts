import type { Case } from "./case.js";

/**
 * THE reviewed list of differences between molt and a reference builder that are expected,
 * each with its reason: the line of BuildKit's Dockerfile reference
 * (moby/buildkit frontend/dockerfile/docs/reference.md, "the reference" below) or the BuildKit
 * function that decides it, against which the reference builder — buildah 1.28, or Docker
 * 20.10's 2021-era BuildKit (v0.8 dockerfile frontend) — is behind or different. molt follows
 * current BuildKit. Anything not matched here (or in known-wrong.ts) fails the suite.
 *
 * `cases: "*"` (or a predicate) entries are suite-wide: a reference's artefact that no Dockerfile
 * asks for. Entries naming cases must be seen, else the suite reports them as stale.
 */

/** The reference builders. */
export type Reference = "buildah" | "docker";

/** One expected difference. */
export interface ExpectedDifference {
  refs: Reference[];
  cases: "*" | string[] | ((k: Case) => boolean);
  /** Matches a difference line (see compareImages in test/harness/image-compare.ts). */
  match: RegExp;
  reason: string;
}

/** The final stage of a case starts from scratch (no `{{…}}` base, no `FROM name` of a stage). */
const finalFromScratch = (k: Case): boolean => {
  const froms = [...k.dockerfile.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]!.toLowerCase());
  return froms.at(-1) === "scratch";
};

/** Reference failures for syntax the Docker 20.10 frontend does not know. */
const docker20Lacks = (what: string, cases: string[]): ExpectedDifference => ({
  refs: ["docker"],
  cases,
  match: /^reference failed: /,
  reason: `Docker 20.10's built-in dockerfile frontend (2021) predates ${what}`,
});

/** Every expected difference, reviewed. */
export const EXPECTED: ExpectedDifference[] = [
  // ---- suite-wide artefacts of the references ----
  {
    refs: ["buildah"],
    cases: "*",
    match: /^\+(dev|proc|sys|run) dir 0755 0:0$/,
    reason:
      "buildah leaves the empty mount points it made for RUN in the image; BuildKit removes the stubs it created (executor/stubs.go MountStubsCleaner) and molt mounts only while a command runs",
  },
  {
    refs: ["buildah"],
    cases: "*",
    match: /^\+etc\/(hostname|hosts|resolv\.conf) file 0\d+ 0:0 0B$/,
    reason:
      "buildah leaves empty /etc/hostname, /etc/hosts, /etc/resolv.conf bind-mount targets; BuildKit's MountStubsCleaner removes /etc/hosts and /etc/resolv.conf stubs",
  },
  {
    refs: ["buildah"],
    cases: "*",
    match: /^config\.Labels\.io\.buildah\.version: molt=unset ref="[\d.]+"$/,
    reason: "buildah stamps its own io.buildah.version label; BuildKit adds no label",
  },
  {
    refs: ["docker"],
    cases: "*",
    match: /^\+(dev|proc|sys) dir 0755 0:0$/,
    reason:
      "Docker 20.10's BuildKit (v0.8) leaves RUN's /dev, /proc, /sys mount points; current BuildKit removes them (executor/stubs.go MountStubsCleaner, v0.10+)",
  },
  {
    refs: ["buildah"],
    cases: finalFromScratch,
    match: /^config\.WorkingDir: molt="\/" ref=unset$/,
    reason:
      'BuildKit starts scratch with WorkingDir "/" (dockerfile2llb emptyImage); buildah leaves it unset',
  },
  {
    refs: ["buildah"],
    cases: finalFromScratch,
    match:
      /^config\.Env: molt=\["PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin"[^\]]*\] ref=/,
    reason:
      "BuildKit gives scratch a default PATH (dockerfile2llb emptyImage, system.DefaultPathEnv); buildah does not",
  },

  // ---- buildah 1.28 differs from BuildKit ----
  {
    refs: ["buildah"],
    cases: ["meta-volume-forms", "exp-volume", "vol-metadata-only", "vol-inherited"],
    match: /^\+[^ ]+ dir 0755 0:0$/,
    reason:
      "buildah creates the directories VOLUME names; in BuildKit VOLUME only records Config.Volumes (dockerfile2llb dispatchVolume)",
  },
  {
    refs: ["buildah"],
    cases: ["vol-run-changes-kept", "vol-existing-dir", "vol-inherited"],
    match: /^[-+]v(ol|)\/|^[-+]data\//,
    reason:
      'buildah discards changes under a declared volume; reference.md VOLUME notes: "those changes will be discarded when using the legacy builder. When using Buildkit, the changes will instead be kept"',
  },
  {
    refs: ["buildah"],
    cases: ["meta-expose"],
    match: /^config\.ExposedPorts: .*"8080\/TCP"/,
    reason:
      "buildah keeps the protocol's case; BuildKit lower-cases it (dockerfile2llb dispatchExpose via nat.ParsePortSpecs)",
  },
  {
    refs: ["buildah"],
    cases: ["meta-expose-range"],
    match: /^config\.ExposedPorts: .*"7000-7002\/udp"/,
    reason:
      "buildah stores a port range as written; BuildKit expands it to one port per entry (nat.ParsePortSpecs)",
  },
  {
    refs: ["buildah"],
    cases: ["meta-cmd-uses-shell"],
    match: /^config\.Cmd: molt=\["\/bin\/ash"/,
    reason:
      "buildah ignores SHELL for shell-form CMD; BuildKit builds it with the SHELL in force (dockerfile2llb dispatchCmd withShell)",
  },
  {
    refs: ["buildah"],
    cases: ["ms-name-case"],
    match: /^reference failed: /,
    reason:
      "buildah matches stage names case-sensitively; BuildKit lower-cases them (instructions.ParseStage, findStateByName)",
  },
  {
    refs: ["buildah"],
    cases: ["run-hardlinks"],
    match: /^~(a|b|c|etc\/passwd|passwd-link) links: /,
    reason:
      "buildah diffs whole trees, so a hard link made in a later RUN re-links the earlier names; BuildKit's overlay differ (and molt's) records what the upper directory holds, so /b keeps its own inode and the lower /etc/passwd is re-included with /passwd-link — Docker 20.10 agrees with molt",
  },
  {
    refs: ["buildah"],
    cases: ["copy-file-over-dir-in-image"],
    match: /^reference succeeded, but the case expects every builder to fail$/,
    reason:
      'buildah replaces an image file with a copied directory; BuildKit refuses (fsutil copy copyDirectory: "cannot copy to non-directory")',
  },
  {
    refs: ["buildah", "docker"],
    cases: ["run-mount-bind"],
    match: /^\+mnt dir 0755 0:0$/,
    reason:
      "both references leave the directory they made for a RUN --mount target; current BuildKit removes the stubs it created for mount destinations (executor/stubs.go MountStubsCleaner, v0.10+), as molt never captures them",
  },
  {
    refs: ["buildah"],
    cases: ["copy-dest-symlink-file-replaced"],
    match: /^~(ln type|real content): /,
    reason:
      "COPY onto a symlink to a file: BuildKit writes through the link (fsutil copy resolves the destination with fs.RootPath); buildah replaces the link by a file",
  },
  {
    refs: ["docker"],
    cases: ["new-chmod-symbolic"],
    match: /^~s\/(a\.txt|b) mode: molt=0750 ref=0644$/,
    reason:
      "Docker 20.10's frontend accepts a symbolic --chmod but ignores it (modes stay 0644); current BuildKit applies chmod(1) clauses (moby/buildkit#5734); golden modes 0750",
  },
  // ---- both old references differ from current BuildKit ----
  {
    refs: ["buildah", "docker"],
    cases: ["add-tar-chown"],
    match: /^~x\/\S+ owner: molt=7:8 ref=/,
    reason:
      "ADD --chown of a local archive: current BuildKit gives every unpacked entry the --chown owner (solver/llbsolver/file/unpack_root.go mapArchiveHeaderOwner); both references keep the archive's owners",
  },
  {
    refs: ["buildah", "docker"],
    cases: ["di-negated-dir-contents"],
    match: /^-ctx\/deep\/one(\/two(\/important\.tmp)?)?( |$)/,
    reason:
      "a wildcard exception (!deep/**/important.tmp) makes current fsutil walk excluded directories (filter.go filterFS.Walk, onlyPrefixExcludeExceptions=false) and re-include the match; both references skip the excluded directory",
  },
  {
    refs: ["buildah", "docker"],
    cases: ["exp-pattern-prefix-suffix", "exp-pattern-replace"],
    match: /^(reference failed|both failed): /,
    reason:
      'shell-pattern removal/replacement (V%%-*, V/-/_ inside a braced variable) is newer than both references\' word expanders (reference.md "Environment replacement": dockerfile 1.6/1.7); golden values carry the case',
  },
  {
    refs: ["buildah", "docker"],
    cases: [
      "hd-run",
      "hd-run-shebang",
      "hd-copy",
      "hd-copy-quoted",
      "hd-copy-multiple",
      "hd-copy-chmod",
      "hd-dash-strips-tabs",
      "hd-run-cat-file",
    ],
    match: /^reference failed: /,
    reason:
      'here-documents (reference.md "Here-Documents", dockerfile 1.4) are newer than both references: Docker 20.10\'s frontend and buildah 1.28 read the body as instructions; the cases carry golden expectations instead',
  },
  {
    refs: ["docker"],
    cases: ["chmod-arg-expanded"],
    match: /^~d\/\S* mode: molt=0700 ref=/,
    reason:
      "Docker 20.10's frontend does not expand variables in COPY --chmod (current dockerfile2llb dispatchCopy expands the flag)",
  },
  {
    refs: ["docker"],
    cases: ["chmod-setuid"],
    match: /^~suid mode: molt=04755 ref=0755$/,
    reason:
      "COPY --chmod dropped setuid/setgid/sticky bits until fsutil#168 (copyFileInfo, moby/buildkit#3920)",
  },
  {
    refs: ["buildah", "docker"],
    cases: ["copy-multi-src-needs-slash"],
    match: /^reference succeeded, but the case expects every builder to fail$/,
    reason:
      'molt refuses several sources onto a destination without a trailing slash, as reference.md COPY says ("<dest> must be a directory, and it must end with a slash /"); both references accept it',
  },
  {
    refs: ["buildah"],
    cases: ["syn-trailing-escaped-escape"],
    match: /can't find = in "echo"/,
    reason:
      "buildah's parser continues a line ending in an escaped escape; BuildKit's parser does not (parser.go trimContinuationCharacter / line continuation regexp)",
  },
  {
    refs: ["buildah", "docker"],
    cases: [
      "new-copy-link",
      "new-copy-parents",
      "new-copy-exclude",
      "new-healthcheck-start-interval",
      "add-url-checksum",
    ],
    match: /^reference failed: /,
    reason:
      "COPY --link (dockerfile 1.4), --parents and --exclude (1.7+), HEALTHCHECK --start-interval and ADD --checksum (1.6) are newer than both references; the cases carry golden expectations",
  },
  {
    refs: ["buildah", "docker"],
    cases: ["new-add-exclude"],
    match: /^(reference|both) failed: /,
    reason:
      "ADD --exclude (dockerfile 1.7+) is newer than both references; the case carries golden expectations",
  },
  {
    refs: ["buildah"],
    cases: ["new-chmod-symbolic"],
    match: /^(reference|both) failed: /,
    reason: "symbolic --chmod (dockerfile 1.10, moby/buildkit#5734) is newer than buildah 1.28",
  },
  {
    refs: ["buildah", "docker"],
    cases: ["exp-default-nocolon-forms"],
    match: /^reference failed: /,
    reason:
      "the colon-less V-w / V+w forms of a braced variable are newer than both references' word expanders (both say \"missing ':' in substitution\")",
  },
  {
    refs: ["buildah"],
    cases: [
      "chown-unknown-user",
      "chown-unknown-group",
      "chown-nopasswd-name",
      "chown-nopasswd-root",
      "chown-scratch-name",
    ],
    match: /^reference failed: /,
    reason:
      'an unresolvable --chown name is 0:0 in current BuildKit (solver/llbsolver/file/user_linux.go readUser: a missing passwd/group file or entry is "not found", not an error); buildah refuses it',
  },
  {
    refs: ["docker"],
    cases: ["chown-nopasswd-name", "chown-scratch-name"],
    match: /^reference failed: /,
    reason:
      "the 2021 BuildKit fails a --chown name when the image has no /etc/passwd; current readUser (solver/llbsolver/file/user_linux.go) treats a missing file as not found, giving 0:0",
  },
  {
    refs: ["docker"],
    cases: ["run-user-id", "run-user-uid", "run-user-name-group"],
    match: /^~tmp\/id size: /,
    reason:
      "Docker 20.10's runc executor gives a RUN under USER only the groups that list the user; current BuildKit also adds the user's primary group (as buildah does), so `id` prints it among groups=",
  },
  {
    refs: ["buildah"],
    cases: ["copy-wildcard-all-empty"],
    match: /^reference failed: /,
    reason:
      "buildah refuses a COPY whose every wildcard matches nothing; BuildKit's file backend docopy returns without copying or creating the destination (AllowEmptyWildcard, set by dockerfile2llb for COPY and ADD), as Docker 20.10 shows",
  },
  {
    refs: ["buildah"],
    cases: ["copy-xattrs"],
    match: /^~x\.txt xattrs: molt=unset ref=/,
    reason:
      "buildah writes every xattr of a copied file into the layer; current BuildKit copies them onto its snapshot (fsutil loadXattr / copyXAttrs) but its layer tar is written by containerd's archive ChangeWriter, which records only SCHILY.xattr.security.capability, so user.* is not in the image (Docker 20.10 agrees with molt)",
  },
  {
    refs: ["docker"],
    cases: ["copy-capabilities"],
    match: /^~bin2\/tool xattrs: molt=/,
    reason:
      "Docker 20.10's BuildKit drops a context file's capabilities; current BuildKit sends them with the file (fsutil loadXattr), copies them (copyXAttrs) and writes security.capability into the layer (containerd ChangeWriter), as buildah does",
  },
  {
    refs: ["docker"],
    cases: ["run-user-root-back"],
    match: /^~id size: /,
    reason:
      "the same for USER root: Docker 20.10 runs it with no supplementary groups; current BuildKit (containerd's additional gids start with the primary gid) and buildah give groups=0(root)",
  },
  {
    refs: ["docker"],
    cases: ["meta-workdir-scratch-name", "meta-workdir-nopasswd"],
    match: /^(reference|both) failed: /,
    reason:
      "the 2021 BuildKit refuses a USER name without /etc/passwd when WORKDIR chowns; current readUser gives 0:0",
  },
];

void docker20Lacks;
