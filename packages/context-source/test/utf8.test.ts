import { describe, expect, it } from "vitest";
import { decodeUtf8 } from "../src/utf8.js";

describe("decodeUtf8 locates the first invalid byte", () => {
  it.each([
    ["valid text has no location", Buffer.from("FROM a\nLABEL x=\u00e9\u20ac\u{1f600}\n"), undefined],
    [
      "a stray 0xff",
      Buffer.from([...Buffer.from("FROM a\nLABEL a=x"), 0xff, 0x79, 0x0a]),
      { line: 2, column: 10, offset: 16 },
    ],
    [
      "a truncated 3-byte sequence after a multi-byte character counts characters, not bytes",
      Buffer.from([...Buffer.from("\u00e9\u00e9 "), 0xe2, 0x82, 0x41]),
      { line: 1, column: 4, offset: 5 },
    ],
    ["a lone continuation byte", Buffer.from([0x41, 0x80]), { line: 1, column: 2, offset: 1 }],
    ["an encoded surrogate", Buffer.from([0x0a, 0x0a, 0xed, 0xa0, 0x80]), { line: 3, column: 1, offset: 2 }],
  ])("%s", (_name, bytes, where) => {
    const r = decodeUtf8(bytes);
    expect(r.text).toBe(bytes.toString("utf8"));
    expect(r.invalid).toEqual(where);
  });
});
