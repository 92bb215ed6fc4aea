import { describe, expect, it } from "vitest";
import { parseDockerfile } from "../src/index.js";
import { errorOf, one, parseError } from "./helpers.js";

describe("FROM", () => {
  it("reads image, platform and stage name (lower-cased)", () => {
    const df = parseDockerfile("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n");
    expect(df.stages[0]!.from).toMatchObject({
      kind: "FROM",
      image: "golang:1.22",
      platform: "$BUILDPLATFORM",
      stageName: "build",
      stageNameRaw: "Build",
    });
    expect(df.stages[0]!.name).toBe("build");
  });
  it("accepts 'as' in any case", () => {
    expect(parseDockerfile("FROM a as b\n").stages[0]!.name).toBe("b");
  });
  it.each([["FROM"], ["FROM a b"], ["FROM a AS"], ["FROM a AS b c"], ["FROM a IS b"]])(
    "rejects %j",
    (text) => {
      const e = errorOf(() => parseDockerfile(`${text}\n`));
      expect(e.code).toBe("MOLT_DOCKERFILE_ARGUMENTS");
      expect(e.reason).toBe("FROM requires either one or three arguments");
    },
  );
  it.each([["1st"], ["a/b"], ["a$b"], ["-x"]])("rejects stage name %j", (name) => {
    const e = errorOf(() => parseDockerfile(`FROM a AS ${name}\n`));
    expect(e.reason).toContain("invalid name for build stage");
  });
  it("rejects duplicate stage names, case-insensitively", () => {
    const e = errorOf(() => parseDockerfile("FROM a AS x\nFROM b AS X\n"));
    expect(e.code).toBe("MOLT_DOCKERFILE_STAGE");
    expect(e.line).toBe(2);
  });
  it("rejects a file without FROM and instructions before FROM", () => {
    expect(errorOf(() => parseDockerfile("# nothing\n")).code).toBe("MOLT_DOCKERFILE_NO_STAGE");
    expect(errorOf(() => parseDockerfile("")).code).toBe("MOLT_DOCKERFILE_NO_STAGE");
    const e = errorOf(() => parseDockerfile("ARG A\nRUN x\nFROM a\n"));
    expect(e.code).toBe("MOLT_DOCKERFILE_NO_STAGE");
    expect(e.line).toBe(2);
  });
  it("keeps ARGs before the first FROM as meta args", () => {
    const df = parseDockerfile("ARG A=1 B\nARG C\nFROM x\nARG D\n");
    expect(df.metaArgs.flatMap((a) => a.args)).toEqual([
      { key: "A", default: "1" },
      { key: "B" },
      { key: "C" },
    ]);
    expect(df.stages[0]!.instructions).toHaveLength(1);
  });
});

describe("RUN", () => {
  it("shell form keeps the command as written", () => {
    expect(one("RUN echo $HOME && ls")).toMatchObject({
      kind: "RUN",
      form: "shell",
      command: "echo $HOME && ls",
    });
  });
  it("exec form is a JSON array of strings", () => {
    expect(one('RUN ["echo", "a b", "$HOME"]')).toMatchObject({
      form: "exec",
      args: ["echo", "a b", "$HOME"],
    });
  });
  it("a JSON array with a non-string element is an error", () => {
    expect(parseError('RUN ["echo", 1]').code).toBe("MOLT_DOCKERFILE_ARGUMENTS");
  });
  it("text that is not valid JSON is shell form", () => {
    expect(one("RUN [ -f x ] && echo")).toMatchObject({ form: "shell", command: "[ -f x ] && echo" });
    expect(one("RUN ['single']")).toMatchObject({ form: "shell", command: "['single']" });
  });
  it("requires a command", () => {
    expect(parseError("RUN").reason).toBe("RUN requires at least one argument");
  });
  it("a heredoc alone is a command", () => {
    expect(one("RUN <<EOF\necho hi\nEOF")).toMatchObject({
      form: "shell",
      command: "<<EOF",
      heredocs: [{ name: "EOF", content: "echo hi\n", expand: true, chomp: false }],
    });
  });
  it("reads --network and --security", () => {
    expect(one("RUN --network=none --security=insecure x")).toMatchObject({
      network: "none",
      security: "insecure",
    });
    expect(parseError("RUN --network=bridge x").reason).toContain('unsupported network mode "bridge"');
    expect(parseError("RUN --security=root x").reason).toContain("unsupported security mode");
  });

  describe("--mount", () => {
    const mount = (spec: string) => {
      const r = one(`RUN --mount=${spec} true`);
      if (r.kind !== "RUN") throw new Error("not RUN");
      return r.mounts[0]!;
    };
    it("bind is the default type, read-only by default", () => {
      expect(mount("target=/src")).toEqual({
        type: "bind",
        target: "/src",
        readonly: true,
        raw: "target=/src",
      });
      expect(mount("type=bind,src=a,dst=/b,from=build,rw")).toMatchObject({
        type: "bind",
        source: "a",
        target: "/b",
        from: "build",
        readonly: false,
      });
    });
    it("cache: id defaults to target, sharing shared, mode 0755, writable", () => {
      expect(mount("type=cache,target=/root/.cache")).toMatchObject({
        type: "cache",
        id: "/root/.cache",
        sharing: "shared",
        mode: 0o755,
        uid: 0,
        gid: 0,
        readonly: false,
      });
      expect(mount("type=cache,target=/c,id=x,sharing=locked,mode=0700,uid=1000,gid=1000,ro")).toMatchObject({
        id: "x",
        sharing: "locked",
        mode: 0o700,
        uid: 1000,
        gid: 1000,
        readonly: true,
      });
    });
    it("tmpfs with size", () => {
      expect(mount("type=tmpfs,target=/t,size=64m")).toMatchObject({ type: "tmpfs", size: 64 * 1024 * 1024 });
    });
    it("secret: id from target base name, target from id, mode 0400", () => {
      expect(mount("type=secret,id=npmrc")).toMatchObject({
        type: "secret",
        id: "npmrc",
        target: "/run/secrets/npmrc",
        mode: 0o400,
        required: false,
      });
      expect(mount("type=secret,target=/etc/token,required")).toMatchObject({ id: "token", required: true });
      expect(mount("type=secret,id=aws,env=AWS_KEY")).toMatchObject({ id: "aws", env: "AWS_KEY" });
    });
    it("ssh: id default, mode 0600", () => {
      expect(mount("type=ssh")).toMatchObject({ type: "ssh", id: "default", mode: 0o600, required: false });
      expect(mount("type=ssh,id=gh,required=true")).toMatchObject({ id: "gh", required: true });
    });
    it("several mounts keep their order", () => {
      const r = one("RUN --mount=type=cache,target=/a --mount=type=secret,id=s x");
      expect(r.kind === "RUN" && r.mounts.map((m) => m.type)).toEqual(["cache", "secret"]);
    });
    it.each([
      ["type=volume,target=/x", "unsupported mount type"],
      ["type=cache", "requires a target"],
      ["type=bind,target=/x,colour=red", "unexpected key 'colour'"],
      ["type=bind,target=/x,sharing=locked", "invalid cache sharing"],
      ["type=cache,target=/x,sharing=sometimes", "unsupported sharing value"],
      ["type=bind,target=/x,mode=0755", "mode not allowed"],
      ["type=cache,target=/x,mode=999", "invalid value for mode"],
      ["type=secret,id=a,from=b", "should not have a from"],
      ["type=secret", "one of id, source, target"],
      ["type=bind,target=/x,required", "unexpected key 'required'"],
      ["type=tmpfs,target=/x,size=lots", "invalid value for size"],
      ["type=bind,target=/x,junk", "must be a key=value pair"],
      ['type=bind,target=a\\"b', 'bare "'],
    ])("rejects %s", (spec, fragment) => {
      const e = parseError(`RUN --mount=${spec} true`);
      expect(e.code).toBe("MOLT_DOCKERFILE_FLAG");
      expect(e.reason).toContain(fragment);
    });
    it("suggests the intended mount key", () => {
      expect(parseError("RUN --mount=type=cache,targte=/x true").reason).toContain("did you mean target?");
    });
  });
});

describe("CMD and ENTRYPOINT", () => {
  it.each(["CMD", "ENTRYPOINT"])("%s exec and shell form", (kw) => {
    expect(one(`${kw} ["a", "b"]`)).toMatchObject({ kind: kw, form: "exec", args: ["a", "b"] });
    expect(one(`${kw} a b`)).toMatchObject({ kind: kw, form: "shell", command: "a b" });
    expect(one(`${kw} []`)).toMatchObject({ form: "exec", args: [] });
  });
  it("rejects flags", () => {
    const e = parseError("CMD --help");
    expect(e.code).toBe("MOLT_DOCKERFILE_FLAG");
    expect(e.reason).toContain("unknown flag: --help");
  });
});

describe("COPY and ADD", () => {
  it("reads sources, destination and every COPY flag", () => {
    expect(
      one(
        "COPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.md --exclude=.git a b /dst/",
      ),
    ).toMatchObject({
      kind: "COPY",
      sources: ["a", "b"],
      dest: "/dst/",
      from: "build",
      chown: "app:app",
      chmod: "0644",
      link: true,
      parents: true,
      exclude: ["*.md", ".git"],
      json: false,
    });
  });
  it("defaults", () => {
    expect(one("COPY a b")).toEqual(
      expect.objectContaining({
        link: false,
        parents: false,
        exclude: [],
        heredocs: [],
        sources: ["a"],
        dest: "b",
      }),
    );
  });
  it("JSON form allows spaces in paths", () => {
    expect(one('COPY ["a file", "/d ir/"]')).toMatchObject({
      sources: ["a file"],
      dest: "/d ir/",
      json: true,
    });
  });
  it("reads every ADD flag", () => {
    expect(
      one(
        "ADD --chown=1:2 --chmod=u+rwx,go=rX --link=false --keep-git-dir --checksum=sha256:abc --unpack=true --exclude=x https://e/x.tgz /d",
      ),
    ).toMatchObject({
      kind: "ADD",
      chown: "1:2",
      chmod: "u+rwx,go=rX",
      link: false,
      keepGitDir: true,
      checksum: "sha256:abc",
      unpack: true,
      exclude: ["x"],
    });
    const plain = one("ADD a b");
    expect(plain.kind === "ADD" && plain.unpack).toBeUndefined();
  });
  it("heredoc sources are documents, not paths", () => {
    expect(one("COPY <<one.txt <<two.txt /d/\n1\none.txt\n2\ntwo.txt")).toMatchObject({
      sources: [],
      heredocs: [
        { name: "one.txt", content: "1\n" },
        { name: "two.txt", content: "2\n" },
      ],
    });
  });
  it.each([
    ["COPY a", "requires at least two arguments"],
    ["COPY", "requires at least two arguments"],
    ["ADD a", "requires at least two arguments"],
    ["COPY a <<EOF\nx\nEOF", "cannot accept a heredoc as a destination"],
    ['COPY ["a", 2]', "must hold only strings"],
  ])("rejects %j", (body, fragment) => {
    expect(parseError(body).reason).toContain(fragment);
  });
  it.each([
    ["COPY --chmod=999 a b", "invalid --chmod"],
    ["COPY --chmod=u+q a b", "invalid --chmod"],
    ["COPY --keep-git-dir a b", "unknown flag: --keep-git-dir"],
    ["ADD --from=x a b", "unknown flag: --from"],
    ["ADD --parents a b", "unknown flag: --parents"],
    ["COPY --from a b", "missing a value on flag: --from"],
    ["COPY --link=yes a b", "expecting boolean value"],
    ["COPY --link= a b", "missing a value"],
    ["COPY --from=a --from=b a b", "duplicate flag specified: --from"],
    ["COPY --chown=1 --chown=2 a b", "duplicate flag"],
    ["COPY --form=x a b", "did you mean --from?"],
    ["COPY --chwon=x a b", "did you mean --chown?"],
  ])("rejects %j", (body, fragment) => {
    const e = parseError(body);
    expect(e.code).toBe("MOLT_DOCKERFILE_FLAG");
    expect(e.reason).toContain(fragment);
  });
  it("repeats list flags", () => {
    expect(one("COPY --exclude=a --exclude=b x y")).toMatchObject({ exclude: ["a", "b"] });
  });
  it("locates a bad flag at the flag", () => {
    const e = parseError("COPY --link --bogus a b");
    expect([e.line, e.column]).toEqual([2, 13]);
  });
});

describe("ENV and LABEL", () => {
  it("key=value pairs keep quotes raw until expansion", () => {
    expect(one('ENV A=1 B="two words" C=a\\ b')).toMatchObject({
      kind: "ENV",
      pairs: [
        { key: "A", value: "1" },
        { key: "B", value: '"two words"' },
        { key: "C", value: "a\\ b" },
      ],
      legacy: false,
    });
  });
  it("legacy form takes the rest of the line as value", () => {
    expect(one("ENV NAME some value here")).toMatchObject({
      pairs: [{ key: "NAME", value: "some value here" }],
      legacy: true,
    });
    expect(one('LABEL maintainer "Jane Doe"')).toMatchObject({
      kind: "LABEL",
      pairs: [{ key: "maintainer", value: '"Jane Doe"' }],
      legacy: true,
    });
  });
  it("LABEL with several pairs and quoted keys", () => {
    expect(one('LABEL "com.example.vendor"="ACME" version=1.0')).toMatchObject({
      pairs: [
        { key: '"com.example.vendor"', value: '"ACME"' },
        { key: "version", value: "1.0" },
      ],
    });
  });
  it.each([
    ["ENV", "ENV requires at least one argument"],
    ["ENV A", "ENV must have two arguments"],
    ["ENV A=1 B", 'can\'t find = in "B"'],
    ["ENV =1", "ENV names can not be blank"],
    ["LABEL", "LABEL requires at least one argument"],
  ])("rejects %j", (body, fragment) => {
    expect(parseError(body).reason).toContain(fragment);
  });
});

describe("ARG", () => {
  it("one or several declarations, with or without defaults", () => {
    expect(one('ARG A B=2 C="x y" D=')).toMatchObject({
      args: [
        { key: "A" },
        { key: "B", default: "2" },
        { key: "C", default: '"x y"' },
        { key: "D", default: "" },
      ],
    });
  });
  it("rejects an empty ARG and a blank name", () => {
    expect(parseError("ARG").reason).toBe("ARG requires at least one argument");
    expect(parseError("ARG =x").reason).toContain("ARG names can not be blank");
  });
});

describe("single-argument instructions", () => {
  it.each([
    ["WORKDIR /a b", { kind: "WORKDIR", path: "/a b" }],
    ["USER app:app", { kind: "USER", user: "app:app" }],
    ["STOPSIGNAL SIGKILL", { kind: "STOPSIGNAL", signal: "SIGKILL" }],
    ["MAINTAINER Jane <j@e>", { kind: "MAINTAINER", name: "Jane <j@e>" }],
  ])("%s", (body, expected) => {
    expect(one(body)).toMatchObject(expected);
  });
  it.each(["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"])("%s requires exactly one argument", (kw) => {
    expect(parseError(kw).reason).toBe(`${kw} requires exactly one argument`);
  });
});

describe("EXPOSE, VOLUME, SHELL", () => {
  it("EXPOSE ports", () => {
    expect(one("EXPOSE 80 443/tcp 53/udp")).toMatchObject({ ports: ["80", "443/tcp", "53/udp"] });
    expect(parseError("EXPOSE").reason).toBe("EXPOSE requires at least one argument");
  });
  it("VOLUME list and JSON", () => {
    expect(one("VOLUME /a /b")).toMatchObject({ paths: ["/a", "/b"] });
    expect(one('VOLUME ["/a b"]')).toMatchObject({ paths: ["/a b"] });
    expect(parseError('VOLUME [""]').reason).toBe("VOLUME specified can not be an empty string");
    expect(parseError("VOLUME").reason).toBe("VOLUME requires at least one argument");
  });
  it("SHELL must be a non-empty JSON array", () => {
    expect(one('SHELL ["/bin/bash", "-c"]')).toMatchObject({ args: ["/bin/bash", "-c"] });
    expect(parseError("SHELL /bin/bash -c").reason).toBe("SHELL requires the arguments to be in JSON form");
    expect(parseError("SHELL []").reason).toBe("SHELL requires at least one argument");
  });
});

describe("HEALTHCHECK", () => {
  it("NONE", () => {
    expect(one("HEALTHCHECK NONE")).toMatchObject({ kind: "HEALTHCHECK", none: true });
    expect(parseError("HEALTHCHECK NONE x").reason).toBe("HEALTHCHECK NONE takes no arguments");
  });
  it("CMD with every option, durations in nanoseconds", () => {
    expect(
      one(
        "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=0 --start-interval=500ms --retries=3 CMD curl -f x",
      ),
    ).toMatchObject({
      none: false,
      form: "shell",
      command: "curl -f x",
      interval: 30e9,
      timeout: 90e9,
      startPeriod: 0,
      startInterval: 500e6,
      retries: 3,
    });
    expect(one('HEALTHCHECK cmd ["true"]')).toMatchObject({ form: "exec", args: ["true"] });
  });
  it.each([
    ["HEALTHCHECK", "at least one argument"],
    ["HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"],
    ["HEALTHCHECK RUN x", 'Unknown type "RUN" in HEALTHCHECK'],
    ["HEALTHCHECK --interval=5 CMD x", "invalid duration"],
    ["HEALTHCHECK --interval=10us CMD x", "cannot be less than 1ms"],
    ["HEALTHCHECK --retries=-1 CMD x", "cannot be negative"],
    ["HEALTHCHECK --retries=x CMD x", "invalid --retries"],
    ["HEALTHCHECK --intervall=1s CMD x", "did you mean --interval?"],
  ])("rejects %j", (body, fragment) => {
    expect(parseError(body).reason).toContain(fragment);
  });
});

describe("ONBUILD", () => {
  it("parses and validates the trigger", () => {
    expect(one("ONBUILD COPY --chown=1 . /app")).toMatchObject({
      kind: "ONBUILD",
      expression: "COPY --chown=1 . /app",
      trigger: { kind: "COPY", sources: ["."], dest: "/app", chown: "1" },
    });
  });
  it("includes trigger heredocs in the expression", () => {
    expect(one("ONBUILD RUN <<EOF\necho hi\nEOF")).toMatchObject({ expression: "RUN <<EOF\necho hi\nEOF" });
  });
  it.each([
    ["ONBUILD", "ONBUILD requires at least one argument"],
    ["ONBUILD ONBUILD RUN x", "Chaining ONBUILD"],
    ["ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"],
    ["ONBUILD maintainer x", "MAINTAINER isn't allowed as an ONBUILD trigger"],
  ])("rejects %j", (body, fragment) => {
    expect(parseError(body).reason).toContain(fragment);
  });
  it("errors inside the trigger are located", () => {
    const e = parseError("ONBUILD COPY --bad a b");
    expect([e.line, e.column]).toEqual([2, 14]);
  });
});

describe("unknown instructions", () => {
  it("are errors naming file, line and column, with a suggestion", () => {
    const e = errorOf(() => parseDockerfile("FROM a\n  RUNN x\n", { file: "ctx/Dockerfile.dev" }));
    expect(e.code).toBe("MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION");
    expect([e.file, e.line, e.column]).toEqual(["ctx/Dockerfile.dev", 2, 3]);
    expect(e.message).toBe("ctx/Dockerfile.dev:2:3: unknown instruction: RUNN (did you mean RUN?)");
  });
});

describe("location and original", () => {
  it("original joins continuations; location spans the lines", () => {
    const r = one("RUN a \\\n  b");
    expect(r.original).toBe("RUN a   b");
    expect(r.location).toMatchObject({ file: "Dockerfile", line: 2, column: 1, endLine: 3 });
  });
  it("records a non-default escape token on instructions", () => {
    const df = parseDockerfile("# escape=`\nFROM a\nWORKDIR C:\\x\n");
    expect(df.stages[0]!.instructions[0]).toMatchObject({ escapeToken: "`", path: "C:\\x" });
  });
});
