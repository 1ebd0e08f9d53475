// Record selection (where the record array is) and shaping (response fields read from each record
// and coerced to their types), compiled once per method.
import { compileArrayPath, compilePath } from './path.js';
import { coerceMany, compileCoercer } from './coerce.js';
import { FieldCoercionError } from './errors.js';
import type { Field } from '../definition/schema.js';

export type RecordValue = Record<string, unknown>;

export interface RecordSelector {
  /** The raw records of a response body (an empty list when there are none). */
  select(body: unknown): unknown[];
  /** Coerced records; `firstIndex` numbers records across pages in error messages. */
  shape(raw: readonly unknown[], firstIndex: number, includeRaw?: boolean): RecordValue[];
}

interface FieldReader {
  name: string;
  read(record: unknown): unknown;
}

function compileReader(field: Field): FieldReader {
  const path = compilePath(field.location);
  const coerce = compileCoercer(field, 'response');
  const fallback = field.default;
  return {
    name: field.field,
    read(record) {
      let value = path.get(record);
      if (value === undefined && fallback !== undefined) value = fallback;
      return path.many ? coerceMany(coerce, value) : coerce(value);
    },
  };
}

/**
 * `records` unset: a top-level array is the record list, anything else one record.
 * `records` set (`""`/`.` = top level): an array there is the list; a single object (XML with one
 * element) is one record; nothing there means no records.
 * With no response fields declared, records are passed on as received; with fields, a record holds
 * exactly the declared fields (absent values omitted), plus `_raw` when asked for.
 */
export function compileRecordSelector(location: string | undefined, fields: readonly Field[]): RecordSelector {
  const path = location === undefined ? undefined : compileArrayPath(location);
  const readers = fields.map(compileReader);
  const asObject = (r: unknown): RecordValue => (r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as RecordValue) : { value: r });

  const select = (body: unknown): unknown[] => {
    const found = path ? path.get(body) : body;
    if (Array.isArray(found)) return found;
    if (found === undefined || found === null || found === '') return [];
    return [found];
  };

  const names = readers.map((r) => r.name);
  const reads = readers.map((r) => r.read);
  const shapeOne = (record: unknown, index: number, includeRaw: boolean): RecordValue => {
    const out: RecordValue = {};
    try {
      for (let i = 0; i < reads.length; i++) {
        const value = reads[i]!(record);
        if (value !== undefined) out[names[i]!] = value;
      }
    } catch (err) {
      throw err instanceof FieldCoercionError ? err.at(index) : err;
    }
    if (includeRaw) out._raw = record;
    return out;
  };

  return {
    select,
    shape: (raw, firstIndex, includeRaw = false) =>
      readers.length === 0 ? raw.map(asObject) : raw.map((record, i) => shapeOne(record, firstIndex + i, includeRaw)),
  };
}
