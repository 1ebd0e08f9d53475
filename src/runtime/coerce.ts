// Field type coercion, compiled once per field. Response values become JSON-safe typed values
// (decimal stays a string, datetime an ISO string); request values are shaped for the wire.
// `null` stays null; `""` is null for every type except text.
import { FieldCoercionError } from './errors.js';
import { canonicalUtcIso, compileDateFormat, toDate } from './datetime.js';
import type { FieldType } from '../definition/schema.js';

export type Coercer = (value: unknown) => unknown;
export type Direction = 'response' | 'request';

const TRUE = new Set(['true', '1', 'yes', 'y', 'on', 't']);
const FALSE = new Set(['false', '0', 'no', 'n', 'off', 'f']);
const DECIMAL_PLACES = 12;

/** A file sent in a request: JSON/form/xml carry it as base64, multipart as a file part. */
export class FileValue {
  constructor(
    readonly content: Buffer,
    readonly fileName?: string,
    readonly contentType?: string,
  ) {}
  toJSON(): string {
    return this.content.toString('base64');
  }
}

const excerpt = (value: unknown): string => {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
};

function fail(field: string, type: string, value: unknown, detail?: string): never {
  throw new FieldCoercionError(field, type, excerpt(value), undefined, detail);
}

const toText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);

function toInteger(field: string, v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    fail(field, 'integer', v, Number.isInteger(v) ? 'outside the safe integer range' : undefined);
  }
  if (typeof v === 'string' && /^\s*[+-]?\d+(\.0*)?\s*$/.test(v)) {
    const n = Number.parseInt(v, 10);
    if (Number.isSafeInteger(n)) return n;
    fail(field, 'integer', v, 'outside the safe integer range');
  }
  return fail(field, 'integer', v);
}

function toFloat(field: string, v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return fail(field, 'float', v);
}

function toBoolean(field: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  return fail(field, 'boolean', v);
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
// Already canonical (no sign/leading zeros/exponent, at most 12 places, not a negative zero).
const PLAIN_DECIMAL = /^(?:-(?=[\d.]*[1-9])|)(?:0|[1-9]\d*)(?:\.\d{1,12})?$/;

/**
 * Exact decimal text, rounded half away from zero to 12 places; never goes through a binary
 * float, so "0.1" stays "0.1" and "12.50" keeps its trailing zero.
 */
export function toDecimalString(v: unknown): string | undefined {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    text = String(v);
  } else if (typeof v === 'string') {
    if (PLAIN_DECIMAL.test(v)) return v;
    text = v.trim();
  } else return undefined;
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const negative = m[1] === '-';
  let int = m[2] || '0';
  let frac = m[3] ?? '';
  if (m[4]) {
    // Move the decimal point instead of multiplying.
    const exp = Number(m[4]);
    const digits = int + frac;
    const point = int.length + exp;
    if (point <= 0) {
      int = '0';
      frac = '0'.repeat(-point) + digits;
    } else if (point >= digits.length) {
      int = digits + '0'.repeat(point - digits.length);
      frac = '';
    } else {
      int = digits.slice(0, point);
      frac = digits.slice(point);
    }
    frac = frac.replace(/0+$/, '');
  }
  if (frac.length > DECIMAL_PLACES) {
    const roundUp = frac.charCodeAt(DECIMAL_PLACES) >= 53; // '5'
    frac = frac.slice(0, DECIMAL_PLACES);
    if (roundUp) {
      const digits = (int + frac).split('').map(Number);
      let i = digits.length - 1;
      while (i >= 0 && digits[i] === 9) digits[i--] = 0;
      if (i < 0) digits.unshift(1);
      else digits[i]!++;
      const joined = digits.join('');
      int = joined.slice(0, joined.length - DECIMAL_PLACES);
      frac = joined.slice(joined.length - DECIMAL_PLACES);
    }
    frac = frac.replace(/0+$/, '');
  }
  int = int.replace(/^0+(?=\d)/, '');
  const body = frac !== '' ? `${int}.${frac}` : int;
  const zero = /^[0.]*$/.test(body);
  return `${negative && !zero ? '-' : ''}${body}`;
}

function toFile(field: string, v: unknown, direction: Direction): unknown {
  if (direction === 'response') {
    // A URL, base64 content or a provider's file object: passed on as given.
    if (typeof v === 'string' || (typeof v === 'object' && v !== null)) return v;
    return fail(field, 'file', v);
  }
  if (v instanceof FileValue) return v;
  if (typeof v === 'string') {
    const dataUrl = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(v);
    if (dataUrl) {
      const content = dataUrl[2] ? Buffer.from(dataUrl[3]!, 'base64') : Buffer.from(decodeURIComponent(dataUrl[3]!), 'utf8');
      return new FileValue(content, undefined, dataUrl[1] || undefined);
    }
    return new FileValue(Buffer.from(v, 'base64'));
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as { content?: unknown; base64?: unknown; text?: unknown; fileName?: unknown; filename?: unknown; contentType?: unknown };
    const name = typeof o.fileName === 'string' ? o.fileName : typeof o.filename === 'string' ? o.filename : undefined;
    const type = typeof o.contentType === 'string' ? o.contentType : undefined;
    if (typeof o.text === 'string') return new FileValue(Buffer.from(o.text, 'utf8'), name, type);
    const b64 = typeof o.base64 === 'string' ? o.base64 : typeof o.content === 'string' ? o.content : undefined;
    if (b64 !== undefined) return new FileValue(Buffer.from(b64, 'base64'), name, type);
  }
  return fail(field, 'file', v, 'expected base64 text, a data: URL or {fileName, contentType, base64|text}');
}

/** Compiles the conversion of one field; the coercer throws `FieldCoercionError` naming the field. */
export function compileCoercer(field: { field: string; type?: FieldType; format?: string }, direction: Direction): Coercer {
  const name = field.field;
  const type = field.type ?? 'text';
  const convert = scalarConverter(name, type, field.format, direction);
  return (value) => {
    if (value === undefined || value === null) return value;
    if (value === '' && type !== 'text') return null;
    return convert(value);
  };
}

function scalarConverter(name: string, type: FieldType, format: string | undefined, direction: Direction): Coercer {
  switch (type) {
    case 'text':
      return toText;
    case 'integer':
      return (v) => toInteger(name, v);
    case 'float':
      return (v) => toFloat(name, v);
    case 'boolean':
      return (v) => toBoolean(name, v);
    case 'decimal':
      return (v) => {
        const text = toDecimalString(v);
        if (text === undefined) return fail(name, 'decimal', v);
        // On the wire a JSON number is what APIs expect; precision beyond a double is lost there.
        return direction === 'response' ? text : Number(text);
      };
    case 'datetime': {
      const fmt = compileDateFormat(format);
      if (direction === 'response') {
        const iso = fmt.name === 'iso8601';
        return (v) => {
          if (iso && typeof v === 'string') {
            const fast = canonicalUtcIso(v);
            if (fast !== undefined) return fast;
          }
          const d = fmt.parse(v);
          return d ? d.toISOString() : fail(name, `datetime (${fmt.name})`, v);
        };
      }
      // Mapped values arrive as ISO text (or Date/epoch ms) and leave in the field's format.
      return (v) => {
        const d = toDate(v) ?? fmt.parse(v);
        return d ? fmt.format(d) : fail(name, 'datetime', v);
      };
    }
    case 'file':
      return (v) => toFile(name, v, direction);
  }
}

/** Applies a coercer to every element when the value is an array of a `[]` location. */
export function coerceMany(coerce: Coercer, value: unknown): unknown {
  return Array.isArray(value) ? value.map(coerce) : coerce(value);
}
