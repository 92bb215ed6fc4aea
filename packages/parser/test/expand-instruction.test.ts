// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import { describe, expect, it } from "vitest";
import { expandInstruction, type Instruction, parseDockerfile } from "../src/index.js";
import { errorOf, one } from "./helpers.js";

const vars: Record<string, string> = { APP: "/srv/app", USER: "web", PORTS: "80 443", V: "1.2", EMPTY: "" };
const lookup = (n: string) => vars[n];
const ex = (body: string): Instruction => expandInstruction(one(body), lookup);

describe("expandInstruction", () => {
  it("COPY: sources, destination, --chown, --chmod, --exclude; not --from", () => {
    expect(
      ex(
        'COPY --from=$APP --chown=$USER:$USER --chmod=${MODE:-755} --exclude=$APP/*.md "$APP"/a ${APP}/c $APP/',
      ),
    ).toMatchObject({
      from: "$APP",
      chown: "web:web",
      chmod: "755",
      exclude: ["/srv/app/*.md"],
      sources: ["/srv/app/a", "/srv/app/c"],
      dest: "/srv/app/",
    });
  });
  it("COPY JSON form: each element expands as one word (spaces kept)", () => {
    expect(ex('COPY ["$APP/a b", "/d/"]')).toMatchObject({ sources: ["/srv/app/a b"], dest: "/d/" });
  });
  it("COPY shell form splits at whitespace before expansion, so a quoted path with a space breaks (as in BuildKit)", () => {
    expect(errorOf(() => ex('COPY "a b" /d/')).reason).toContain("double-quote");
  });
  it("ADD: --checksum expands", () => {
    expect(ex("ADD --checksum=sha256:${SUM:-abc} https://x/$V.tgz /d")).toMatchObject({
      checksum: "sha256:abc",
      sources: ["https://x/1.2.tgz"],
    });
  });
  it("COPY heredoc content expands unless the delimiter is quoted", () => {
    const r = expandInstruction(one("COPY <<A <<'B' /d/\nv=$V 'q'\nA\nv=$V\nB"), lookup);
    expect(r.kind === "COPY" && r.heredocs.map((h) => h.content)).toEqual(["v=1.2 'q'\n", "v=$V\n"]);
  });
  it("ENV / LABEL: keys and values, quotes removed", () => {
    expect(ex("ENV PATH_${V}=$APP/bin MSG=\"hello $USER\" RAW='$USER'")).toMatchObject({
      pairs: [
        { key: "PATH_1.2", value: "/srv/app/bin" },
        { key: "MSG", value: "hello web" },
        { key: "RAW", value: "$USER" },
      ],
    });
    expect(ex('LABEL version="$V" legacy=yes')).toMatchObject({
      pairs: [
        { key: "version", value: "1.2" },
        { key: "legacy", value: "yes" },
      ],
    });
    expect(ex('ENV NAME "quoted legacy" $V')).toMatchObject({
      pairs: [{ key: "NAME", value: "quoted legacy 1.2" }],
    });
  });
  it("ARG defaults", () => {
    expect(ex("ARG A=$APP B")).toMatchObject({ args: [{ key: "A", default: "/srv/app" }, { key: "B" }] });
  });
  it("WORKDIR, USER, STOPSIGNAL, VOLUME", () => {
    expect(ex("WORKDIR $APP/sub")).toMatchObject({ path: "/srv/app/sub" });
    expect(ex("USER ${USER}:${GROUP:-users}")).toMatchObject({ user: "web:users" });
    expect(ex("STOPSIGNAL ${SIG:-SIGTERM}")).toMatchObject({ signal: "SIGTERM" });
    expect(ex('VOLUME ["$APP/data"]')).toMatchObject({ paths: ["/srv/app/data"] });
  });
  it("EXPOSE splits expanded words", () => {
    expect(ex("EXPOSE $PORTS 53/udp")).toMatchObject({ ports: ["80", "443", "53/udp"] });
  });
  it("FROM image and platform", () => {
    const df = parseDockerfile("FROM --platform=${P:-linux/amd64} busybox:$V\n");
    expect(expandInstruction(df.stages[0]!.from, lookup)).toMatchObject({
      image: "busybox:1.2",
      platform: "linux/amd64",
    });
  });
  it("RUN: mount values expand, the command does not", () => {
    expect(ex("RUN --mount=type=cache,target=$APP/.cache,id=c-$V echo $APP")).toMatchObject({
      command: "echo $APP",
      mounts: [{ type: "cache", target: "/srv/app/.cache", id: "c-1.2" }],
    });
    expect(ex('CMD ["$APP"]')).toMatchObject({ args: ["$APP"] });
    expect(ex("ENTRYPOINT $APP")).toMatchObject({ command: "$APP" });
    expect(ex("ONBUILD WORKDIR $APP")).toMatchObject({ trigger: { path: "$APP" } });
  });
  it("does not modify its input", () => {
    const w = one("WORKDIR $APP");
    expandInstruction(w, lookup);
    expect(w).toMatchObject({ path: "$APP" });
  });
  it("uses the escape directive", () => {
    const df = parseDockerfile("# escape=`\nFROM a\nWORKDIR C:\\$APP`$V\n");
    expect(expandInstruction(df.stages[0]!.instructions[0]!, lookup)).toMatchObject({
      path: "C:\\/srv/app$V",
    });
  });
  it.each([
    ["WORKDIR ${APP", "missing '}'"],
    ["WORKDIR ${APP:=x}", "unsupported modifier"],
    ["USER ${NOBODY:?set NOBODY}", "NOBODY: set NOBODY"],
    ["ENV A=${EMPTY:?}", "EMPTY: is not allowed to be empty"],
  ])("%s is a located error", (body, fragment) => {
    const e = errorOf(() => ex(body));
    expect(e.code).toBe("MOLT_DOCKERFILE_EXPANSION");
    expect(e.line).toBe(2);
    expect(e.reason).toContain(fragment);
  });
  it("re-validates --chmod and mounts after expansion", () => {
    vars.BAD = "abc";
    expect(errorOf(() => ex("COPY --chmod=$BAD a b")).code).toBe("MOLT_DOCKERFILE_FLAG");
    expect(errorOf(() => ex("RUN --mount=type=cache,target=/x,mode=$BAD true")).code).toBe(
      "MOLT_DOCKERFILE_FLAG",
    );
  });
});
