import type { SourceLocation } from "../location.js";

/**
 * Maps offsets in a logical line (continuations joined) back to source lines and columns. One
 * map is reused for every instruction of a parse ({@link LineMap.reset}); its segments are kept
 * in flat number arrays so a lookup allocates nothing but the location it returns.
 */
export class LineMap {
  /** Offset in the joined line where each piece starts, and the source line/column of it. */
  private readonly offsets: number[] = [0];
  private readonly lines: number[] = [1];
  private readonly columns: number[] = [1];
  private count = 1;
  constructor(readonly file: string) {}

  /**
   * True when the range `[start, end)` lies on the first physical line of the logical line
   * (its location is then that line with columns {@link LineMap.columnOnFirstLine}).
   */
  onFirstLine(start: number, end: number): boolean {
    if (this.count === 1) return true;
    const next = this.offsets[1]!;
    return start < next && end <= next;
  }

  /** Column of `offset` on the first physical line. */
  columnOnFirstLine(offset: number): number {
    return this.columns[0]! + offset;
  }

  /** Starts a new logical line whose first character is at `line`:`column`. */
  reset(line: number, column: number): void {
    this.count = 1;
    this.offsets[0] = 0;
    this.lines[0] = line;
    this.columns[0] = column;
  }

  /** Records that the joined text from `offset` on came from `line`:`column`. */
  add(offset: number, line: number, column: number): void {
    const k = this.count++;
    this.offsets[k] = offset;
    this.lines[k] = line;
    this.columns[k] = column;
  }

  /** Index of the piece holding `offset` (the earlier piece at a boundary when `preferPrevious`). */
  private segmentFor(offset: number, preferPrevious: boolean): number {
    const offsets = this.offsets;
    let found = 0;
    for (let k = 1; k < this.count; k++) {
      const o = offsets[k]!;
      if (o < offset || (!preferPrevious && o === offset)) found = k;
      else break;
    }
    return found;
  }

  /** Piece used for the end of a range ending at `offset` (exclusive). */
  private endSegment(offset: number): number {
    return offset === 0 ? this.segmentFor(0, false) : this.segmentFor(offset, true);
  }

  /** Source line of the end of a range ending at `offset` in the joined line. */
  endLine(offset: number): number {
    return this.lines[this.endSegment(offset)]!;
  }

  /** Source column just past the character before `offset` (for range ends). */
  endColumn(offset: number): number {
    const s = this.endSegment(offset);
    return this.columns[s]! + (offset - this.offsets[s]!);
  }

  /** Source range of `[start, end)` in the joined line. */
  range(start: number, end: number): SourceLocation {
    const a = this.segmentFor(start, false);
    const line = this.lines[a]!;
    const column = this.columns[a]! + (start - this.offsets[a]!);
    if (end <= start) return { file: this.file, line, column, endLine: line, endColumn: column };
    const b = this.segmentFor(end, true);
    return {
      file: this.file,
      line,
      column,
      endLine: this.lines[b]!,
      endColumn: this.columns[b]! + (end - this.offsets[b]!),
    };
  }
}
