/**
 * One copy of each short string per parse. V8 copies every slice shorter than 13 characters
 * into a new string object, so a Dockerfile's thousands of repeated keywords, flag names and
 * short values (`RUN`, `mount`, `app:app`, `EOF`) would each be a separate object in the tree
 * that the garbage collector copies and marks. The table hands out the first equal string
 * instead. It lives as long as one parse and is bounded.
 */
export class StringTable {
  private readonly table = new Map<string, string>();

  /** `s`, or an equal short string already handed out by this table. */
  share(s: string): string {
    const n = s.length;
    if (n < 2 || n > MAX_SHARED_LENGTH) return s;
    const hit = this.table.get(s);
    if (hit !== undefined) return hit;
    if (this.table.size < MAX_ENTRIES) this.table.set(s, s);
    return s;
  }

  /** `text.slice(start, end)`, shared when short. */
  slice(text: string, start: number, end: number): string {
    return end - start > MAX_SHARED_LENGTH ? text.slice(start, end) : this.share(text.slice(start, end));
  }
}

/** Longer slices are views into their parent string (V8's minimum sliced-string length is 13). */
const MAX_SHARED_LENGTH = 12;
/** Bound on the distinct strings kept, whatever the input. */
const MAX_ENTRIES = 8192;
