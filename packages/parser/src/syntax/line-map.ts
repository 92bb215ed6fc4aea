import type { SourceLocation, SourcePosition } from "../location.js";

/** Where a piece of a joined logical line came from. */
interface Segment {
  /** Offset of the piece in the joined line. */
  offset: number;
  /** Source line and column of the piece's first character. */
  line: number;
  column: number;
}

/** Maps offsets in a logical line (continuations joined) back to source lines and columns. */
export class LineMap {
  private readonly segments: Segment[] = [];
  constructor(readonly file: string) {}

  /** Records that the joined text from `offset` on came from `line`:`column`. */
  add(offset: number, line: number, column: number): void {
    this.segments.push({ offset, line, column });
  }

  private segmentFor(offset: number, preferPrevious: boolean): Segment {
    const segs = this.segments;
    let found = segs[0]!;
    for (let k = 1; k < segs.length; k++) {
      const s = segs[k]!;
      if (s.offset < offset || (!preferPrevious && s.offset === offset)) found = s;
      else break;
    }
    return found;
  }

  /** Source position of the character at `offset` in the joined line. */
  position(offset: number): SourcePosition {
    const s = this.segmentFor(offset, false);
    return { line: s.line, column: s.column + (offset - s.offset) };
  }

  /** Source position just past the character before `offset` (for range ends). */
  endPosition(offset: number): SourcePosition {
    if (offset === 0) return this.position(0);
    const s = this.segmentFor(offset, true);
    return { line: s.line, column: s.column + (offset - s.offset) };
  }

  /** Source range of `[start, end)` in the joined line. */
  range(start: number, end: number): SourceLocation {
    const a = this.position(start);
    const b = end <= start ? a : this.endPosition(end);
    return { file: this.file, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}
