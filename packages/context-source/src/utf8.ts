/** Where the first invalid UTF-8 byte of a text file is (1-based line and column, in characters). */
export interface InvalidUtf8 {
  line: number;
  column: number;
  /** 0-based byte offset of the first invalid byte. */
  offset: number;
}

const fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes `bytes` as UTF-8 (invalid sequences become U+FFFD, as `Buffer.toString` does) and
 * says where the first invalid one is, so a caller can warn with a location rather than build
 * from silently changed text.
 */
export function decodeUtf8(bytes: Buffer): { text: string; invalid?: InvalidUtf8 } {
  const text = bytes.toString("utf8");
  try {
    fatal.decode(bytes);
    return { text };
  } catch {
    // Find the first invalid byte: decode incrementally until the decoder objects.
  }
  const step = new TextDecoder("utf-8", { fatal: true });
  let offset = 0;
  for (; offset < bytes.length; offset++) {
    try {
      step.decode(bytes.subarray(offset, offset + 1), { stream: true });
    } catch {
      break;
    }
  }
  // The decoder objects at the first byte that cannot be part of valid text; when a sequence it
  // had started (a lead byte and continuations) is left incomplete, the error starts at its lead.
  for (let k = 1; k <= 3 && offset - k >= 0; k++) {
    const b = bytes[offset - k]!;
    if (b < 0x80) break;
    if (b >= 0xc0) {
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (k < len) offset -= k;
      break;
    }
  }
  const before = bytes.subarray(0, offset);
  const nl = before.lastIndexOf(0x0a);
  const line = before.toString("latin1").split("\n").length;
  const column = before.subarray(nl + 1).toString("utf8").length + 1;
  return { text, invalid: { line, column, offset } };
}
