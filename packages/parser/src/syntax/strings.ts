/**
 * One copy of each short string per parse. V8 copies every slice shorter than 13 characters
 * into a new string object, so a Dockerfile's thousands of repeated keywords, flag names and
 * short values (`RUN`, `mount`, `app:app`, `EOF`) would each be a separate object in the tree
 * that the garbage collector copies and marks. The table is a direct-mapped cache: a short
 * range of text is hashed in place and, when the slot holds an equal string, that string is
 * returned without slicing; otherwise the slice takes the slot. Collisions only cost sharing.
 * It lives as long as one parse.
 */
export class StringTable {
  private readonly slots: (string | undefined)[] = new Array(SLOTS);

  /** `text.slice(start, end)`, or an equal short string already handed out by this table. */
  slice(text: string, start: number, end: number): string {
    const n = end - start;
    if (n > MAX_SHARED_LENGTH || n < 2) return text.slice(start, end);
    let h = n;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
    const k = (h ^ (h >>> 11)) & (SLOTS - 1);
    const hit = this.slots[k];
    if (hit !== undefined && hit.length === n && text.startsWith(hit, start)) return hit;
    const s = text.slice(start, end);
    this.slots[k] = s;
    return s;
  }

  /** `s`, or an equal short string already handed out by this table. */
  share(s: string): string {
    return this.slice(s, 0, s.length);
  }
}

/** Longer slices are views into their parent string (V8's minimum sliced-string length is 13). */
const MAX_SHARED_LENGTH = 12;
/** Slots of the cache (a power of two). */
const SLOTS = 2048;
