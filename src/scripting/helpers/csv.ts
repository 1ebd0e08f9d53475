// cyclr_csv_parse(csv, delimiter, hasHeader): RFC 4180 CSV (quoted fields, doubled quotes, CRLF or
// LF, line breaks inside quotes) into an array of objects. Without a header the keys are Field1,
// Field2… (as Cyclr documents); with one, the header names (duplicates get a numeric suffix).

export const MAX_CSV_CHARS = 16 * 1024 * 1024;

export function parseCsvRows(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  const endRow = () => {
    row.push(field);
    field = '';
    rows.push(row);
    row = [];
  };
  while (i < n) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (text.startsWith(delimiter, i)) {
      row.push(field);
      field = '';
      i += delimiter.length;
    } else if (ch === '\r' || ch === '\n') {
      endRow();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

export function cyclrCsvParse(csv: unknown, delimiter: unknown, hasHeader: unknown): Array<Record<string, string>> {
  const text = csv === undefined || csv === null ? '' : String(csv);
  if (text.length > MAX_CSV_CHARS) throw new Error(`cyclr_csv_parse: the CSV is larger than ${MAX_CSV_CHARS} characters`);
  const delim = delimiter === undefined || delimiter === null || delimiter === '' ? ',' : String(delimiter);
  if (delim.includes('"') || /[\r\n]/.test(delim)) throw new Error('cyclr_csv_parse: the delimiter cannot contain quotes or line breaks');
  // A byte-order mark is not part of the first field.
  const rows = parseCsvRows(text.replace(/^\ufeff/, ''), delim).filter((r) => !(r.length === 1 && r[0] === ''));
  if (rows.length === 0) return [];
  let names: string[];
  let data: string[][];
  if (hasHeader === true || hasHeader === 'true') {
    const seen = new Map<string, number>();
    names = rows[0]!.map((raw, i) => {
      const base = raw.trim() || `Field${i + 1}`;
      const count = (seen.get(base) ?? 0) + 1;
      seen.set(base, count);
      return count === 1 ? base : `${base}${count}`;
    });
    data = rows.slice(1);
  } else {
    const width = Math.max(...rows.map((r) => r.length));
    names = Array.from({ length: width }, (_, i) => `Field${i + 1}`);
    data = rows;
  }
  return data.map((r) => {
    const record: Record<string, string> = {};
    names.forEach((name, i) => {
      // Own data properties only: a header named __proto__ stays a plain key.
      Object.defineProperty(record, name, { value: r[i] ?? '', enumerable: true, writable: true, configurable: true });
    });
    return record;
  });
}
