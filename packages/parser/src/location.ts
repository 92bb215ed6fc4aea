/**
 * A range of Dockerfile source text. Lines and columns are 1-based; columns count UTF-16 code
 * units. `endColumn` is exclusive: it names the column just past the last character, so an
 * empty range has `endColumn === column`.
 */
export interface SourceLocation {
  /** The file name given to the parser (default `Dockerfile`). */
  file: string;
  /** First line of the range (1-based). */
  line: number;
  /** First column of the range (1-based). */
  column: number;
  /** Last line of the range (1-based). */
  endLine: number;
  /** Column just past the end of the range on `endLine` (1-based, exclusive). */
  endColumn: number;
}

/** A point in source text: 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Builds a {@link SourceLocation} from two points. */
export function makeLocation(file: string, start: SourcePosition, end: SourcePosition): SourceLocation {
  return { file, line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}
