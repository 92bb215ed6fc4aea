import { describe, expect, test } from "vitest";
import { parseBuildFlags } from "../src/commands/build-flags.js";
import { UsageError } from "../src/io.js";
import {
  createRenderer,
  JsonRenderer,
  PlainRenderer,
  progressSettings,
  TtyRenderer,
} from "../src/progress/index.js";

const USAGE = "usage: molt build [flags]";
const settings = (flags: Parameters<typeof progressSettings>[0]) => progressSettings(flags, USAGE);
const out = (isTTY: boolean) => ({ write: () => true, isTTY, columns: 80 });

describe("--progress, --log-format, --log-timestamp, -v", () => {
  test("--progress takes auto, plain, tty and json; auto is the default", () => {
    expect(settings({})).toEqual({ mode: "auto", level: "info", color: false, timestamps: false });
    for (const mode of ["auto", "plain", "tty", "json"] as const)
      expect(settings({ progress: mode }).mode).toBe(mode);
  });

  test("auto draws the live view on a terminal and plain lines elsewhere; each mode its renderer", () => {
    expect(createRenderer(settings({}), out(true))).toBeInstanceOf(TtyRenderer);
    expect(createRenderer(settings({}), out(false))).toBeInstanceOf(PlainRenderer);
    expect(createRenderer(settings({ progress: "tty" }), out(false))).toBeInstanceOf(TtyRenderer);
    expect(createRenderer(settings({ progress: "plain" }), out(true))).toBeInstanceOf(PlainRenderer);
    expect(createRenderer(settings({ progress: "json" }), out(true))).toBeInstanceOf(JsonRenderer);
  });

  test("kaniko's --log-format: text is plain, color is plain in colour, json is json; --progress wins", () => {
    expect(settings({ logFormat: "text" })).toMatchObject({ mode: "plain", color: false });
    expect(settings({ logFormat: "color" })).toMatchObject({ mode: "plain", color: true });
    expect(settings({ logFormat: "json" })).toMatchObject({ mode: "json" });
    expect(settings({ logFormat: "json", progress: "plain" }).mode).toBe("plain");
    expect(settings({ logTimestamp: true }).timestamps).toBe(true);
  });

  test("--log-format=color paints the status words; text does not", () => {
    const draw = (logFormat: string) => {
      const chunks: string[] = [];
      const r = createRenderer(settings({ logFormat }), {
        write: (c: string) => chunks.push(c),
        isTTY: false,
      });
      r.event({ type: "molt:step:start", step: 1, kind: "instruction", name: "[2/2] RUN x" });
      r.event({ type: "molt:step:done", step: 1, durationMs: 1200 });
      r.event({ type: "molt:step:start", step: 2, kind: "instruction", name: "[3/3] RUN y" });
      r.event({ type: "molt:step:error", step: 2, durationMs: 5, message: "boom" });
      r.end({});
      return chunks.join("");
    };
    expect(draw("color")).toContain("#1 \x1b[32mDONE\x1b[0m 1.2s\n");
    expect(draw("color")).toContain("#2 \x1b[31mERROR:\x1b[0m boom\n");
    expect(draw("text")).toContain("#1 DONE 1.2s\n");
    expect(draw("text")).not.toContain("\x1b[");
  });

  test("every kaniko level is taken; an unknown level, mode or format is a usage error", () => {
    for (const level of ["panic", "fatal", "error", "warn", "info", "debug", "trace"])
      expect(settings({ verbosity: level }).level).toBe(level);
    for (const bad of [{ verbosity: "loud" }, { progress: "fancy" }, { logFormat: "xml" }]) {
      expect(() => settings(bad)).toThrow(UsageError);
    }
    expect(() => settings({ verbosity: "loud" })).toThrow(/verbosity must be one of panic, fatal/);
  });

  test("the flags reach the settings: -v, --verbosity=warning, --progress, --log-format, --log-timestamp", () => {
    const { cli } = parseBuildFlags(
      [
        "-c",
        "ctx",
        "--no-push",
        "-v",
        "debug",
        "--progress=json",
        "--log-format",
        "color",
        "--log-timestamp",
      ],
      "/cwd",
    );
    expect(cli).toMatchObject({
      verbosity: "debug",
      progress: "json",
      logFormat: "color",
      logTimestamp: true,
    });
    expect(() => parseBuildFlags(["-c", "ctx", "--no-push", "-v", "loud"], "/cwd")).toThrow(UsageError);
    expect(() => parseBuildFlags(["-c", "ctx", "--no-push", "--progress", "fancy"], "/cwd")).toThrow(
      UsageError,
    );
  });

  test("--jobs: a number of stages from 1; none leaves build()'s default (the cores)", () => {
    expect(parseBuildFlags(["-c", "ctx", "--no-push", "-j", "1"], "/cwd").options.jobs).toBe(1);
    expect(parseBuildFlags(["-c", "ctx", "--no-push", "--jobs=4"], "/cwd").options.jobs).toBe(4);
    expect(parseBuildFlags(["-c", "ctx", "--no-push"], "/cwd").options.jobs).toBeUndefined();
    for (const bad of ["0", "-1", "two"])
      expect(() => parseBuildFlags(["-c", "ctx", "--no-push", "--jobs", bad], "/cwd")).toThrow(UsageError);
  });
});
