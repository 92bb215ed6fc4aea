/**
 * Splits one CSV record (Go `encoding/csv` rules: `,` separated, fields may be double-quoted
 * with `""` for a quote). Returns an error message for a bare quote or an unclosed quote.
 */
export function splitCsvRecord(text: string): string[] | string {
  // Without quotes a record is its comma-separated pieces, sliced rather than rebuilt.
  if (!text.includes('"')) return text.split(",");
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) return `extraneous or missing " in quoted-field`;
        const ch = text[i]!;
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < n && text[i] !== ",") return `extraneous or missing " in quoted-field`;
    } else {
      while (i < n && text[i] !== ",") {
        if (text[i] === '"') return `bare " in non-quoted-field`;
        field += text[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= n) return fields;
    i++; // the comma
  }
}
