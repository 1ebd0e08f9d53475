// Date formats of fields and `{{Var format=...}}`: `iso8601` (default), `unix`, `unixms`, or a
// .NET-style pattern (`yyyy-MM-dd HH:mm:ss`). A pattern is compiled once into a parser regex and a
// formatter. Times without a zone are taken as UTC.

export interface DateFormat {
  readonly name: string;
  /** The instant, or undefined when the value does not match the format. */
  parse(value: unknown): Date | undefined;
  /** Text (iso8601, patterns) or a number (unix, unixms). */
  format(date: Date): string | number;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Builds a UTC date from components, rejecting out-of-range parts (Feb 30, 25:00). */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0, offsetMin = 0): Date | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || s > 60) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const check = new Date(t);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined;
  return new Date(t - offsetMin * 60_000);
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const sign = digits[0] === '-' ? -1 : 1;
  const hh = Number(digits.slice(1, 3));
  const mm = Number(digits.slice(3, 5) || '0');
  return sign * (hh * 60 + mm);
}

const fraction = (f: string | undefined) => (f ? Number(f.slice(0, 3).padEnd(3, '0')) : 0);

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two digits at `i`, or -1. */
function two(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Fast path for the most common wire form (`2024-01-02T10:00:00Z`, optionally with `.sss`):
 * checked character by character (no regex, no Date) and returned as ISO text. Undefined when
 * the text is not in exactly that form; the general parser then decides.
 */
export function canonicalUtcIso(text: string): string | undefined {
  const len = text.length;
  if ((len !== 20 && len !== 24) || text.charCodeAt(len - 1) !== 90 /* Z */) return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') return undefined;
  const y1 = two(text, 0);
  const y2 = two(text, 2);
  const mo = two(text, 5);
  const d = two(text, 8);
  const h = two(text, 11);
  const mi = two(text, 14);
  const sec = two(text, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || d > DAYS[mo - 1]! || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  const y = y1 * 100 + y2;
  if (mo === 2 && d === 29 && (y % 4 !== 0 || (y % 100 === 0 && y % 400 !== 0))) return undefined;
  if (len === 20) return `${text.slice(0, 19)}.000Z`;
  const ms = text.charCodeAt(19) === 46 /* . */ ? two(text, 20) : -1;
  const ms3 = text.charCodeAt(22) - 48;
  return ms >= 0 && ms3 >= 0 && ms3 <= 9 ? text : undefined;
}

export function parseIso8601(text: string): Date | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, f, zone] = m;
  return utc(+y, +mo, +d, h ? +h : 0, mi ? +mi : 0, s ? +s : 0, fraction(f), offsetMinutes(zone));
}

/** Lenient conversion used by templates: Date, ISO text, RFC 1123 text or epoch milliseconds. */
export function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? new Date(value) : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const iso = parseIso8601(value);
  if (iso) return iso;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

const numeric = (value: unknown): number | undefined => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
};

const isoFormat: DateFormat = {
  name: 'iso8601',
  parse: (v) => (v instanceof Date ? toDate(v) : typeof v === 'string' ? (parseIso8601(v) ?? rfc1123(v)) : undefined),
  format: (d) => d.toISOString(),
};

// HTTP-style dates ("Tue, 15 Nov 1994 08:12:31 GMT") are common enough to accept as iso8601.
function rfc1123(text: string): Date | undefined {
  if (!/^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} (GMT|UTC|[+-]\d{4})$/.test(text.trim())) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}

const unixFormat = (scale: number, name: string): DateFormat => ({
  name,
  parse: (v) => {
    if (v instanceof Date) return toDate(v);
    const n = numeric(v);
    return n === undefined ? undefined : new Date(Math.round(n * scale));
  },
  format: (d) => (scale === 1 ? d.getTime() : Math.floor(d.getTime() / scale)),
});

const pad = (n: number, width: number) => String(n).padStart(width, '0');

interface Token {
  re: string;
  /** Stores the parsed text into the parts being built. */
  set?: (parts: Parts, text: string) => void;
  out: (d: Date) => string;
}

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
  pm?: boolean;
  zone?: string;
}

const TOKENS: Record<string, Token> = {
  yyyy: { re: '(\\d{4})', set: (p, t) => (p.y = +t), out: (d) => pad(d.getUTCFullYear(), 4) },
  yy: { re: '(\\d{2})', set: (p, t) => (p.y = 2000 + +t), out: (d) => pad(d.getUTCFullYear() % 100, 2) },
  MM: { re: '(\\d{2})', set: (p, t) => (p.mo = +t), out: (d) => pad(d.getUTCMonth() + 1, 2) },
  M: { re: '(\\d{1,2})', set: (p, t) => (p.mo = +t), out: (d) => String(d.getUTCMonth() + 1) },
  dd: { re: '(\\d{2})', set: (p, t) => (p.d = +t), out: (d) => pad(d.getUTCDate(), 2) },
  d: { re: '(\\d{1,2})', set: (p, t) => (p.d = +t), out: (d) => String(d.getUTCDate()) },
  HH: { re: '(\\d{2})', set: (p, t) => (p.h = +t), out: (d) => pad(d.getUTCHours(), 2) },
  H: { re: '(\\d{1,2})', set: (p, t) => (p.h = +t), out: (d) => String(d.getUTCHours()) },
  hh: { re: '(\\d{2})', set: (p, t) => (p.h = +t % 12), out: (d) => pad(d.getUTCHours() % 12 || 12, 2) },
  h: { re: '(\\d{1,2})', set: (p, t) => (p.h = +t % 12), out: (d) => String(d.getUTCHours() % 12 || 12) },
  mm: { re: '(\\d{2})', set: (p, t) => (p.mi = +t), out: (d) => pad(d.getUTCMinutes(), 2) },
  m: { re: '(\\d{1,2})', set: (p, t) => (p.mi = +t), out: (d) => String(d.getUTCMinutes()) },
  ss: { re: '(\\d{2})', set: (p, t) => (p.s = +t), out: (d) => pad(d.getUTCSeconds(), 2) },
  s: { re: '(\\d{1,2})', set: (p, t) => (p.s = +t), out: (d) => String(d.getUTCSeconds()) },
  fff: { re: '(\\d{3})', set: (p, t) => (p.ms = +t), out: (d) => pad(d.getUTCMilliseconds(), 3) },
  ff: { re: '(\\d{2})', set: (p, t) => (p.ms = +t * 10), out: (d) => pad(Math.floor(d.getUTCMilliseconds() / 10), 2) },
  f: { re: '(\\d)', set: (p, t) => (p.ms = +t * 100), out: (d) => String(Math.floor(d.getUTCMilliseconds() / 100)) },
  tt: { re: '(AM|PM)', set: (p, t) => (p.pm = t.toUpperCase() === 'PM'), out: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM') },
  zzz: { re: '(Z|[+-]\\d{2}:?\\d{2})', set: (p, t) => (p.zone = t), out: () => '+00:00' },
  K: { re: '(Z|[+-]\\d{2}:?\\d{2})', set: (p, t) => (p.zone = t), out: () => 'Z' },
};
// Common aliases from moment/Java patterns.
TOKENS.YYYY = TOKENS.yyyy;
TOKENS.DD = TOKENS.dd;
TOKENS.SSS = TOKENS.fff;

const TOKEN_RE = /'[^']*'|yyyy|YYYY|yy|MM|M|DD|dd|d|HH|H|hh|h|mm|m|ss|s|SSS|fff|ff|f|tt|zzz|K/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function patternFormat(pattern: string): DateFormat {
  const setters: Array<(p: Parts, t: string) => void> = [];
  const outs: Array<string | ((d: Date) => string)> = [];
  let re = '';
  let last = 0;
  const literal = (text: string) => {
    re += escapeRe(text);
    if (text) outs.push(text);
  };
  for (const m of pattern.matchAll(TOKEN_RE)) {
    literal(pattern.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0].startsWith("'")) {
      literal(m[0].slice(1, -1));
      continue;
    }
    const token = TOKENS[m[0]]!;
    re += token.re;
    setters.push(token.set!);
    outs.push(token.out);
  }
  literal(pattern.slice(last));
  const regex = new RegExp(`^${re}$`, 'i');
  return {
    name: pattern,
    parse(value) {
      if (value instanceof Date) return toDate(value);
      if (typeof value !== 'string') return undefined;
      const m = regex.exec(value.trim());
      if (!m) return undefined;
      const p: Parts = { y: 1970, mo: 1, d: 1, h: 0, mi: 0, s: 0, ms: 0 };
      setters.forEach((set, i) => set(p, m[i + 1]!));
      if (p.pm) p.h += 12;
      return utc(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms, offsetMinutes(p.zone));
    },
    format: (d) => outs.map((o) => (typeof o === 'string' ? o : o(d))).join(''),
  };
}

const NAMED: Record<string, DateFormat> = {
  iso8601: isoFormat,
  iso: isoFormat,
  unix: unixFormat(1000, 'unix'),
  unixms: unixFormat(1, 'unixms'),
};

/** Compiles a date format once; unknown names are taken as patterns. */
export function compileDateFormat(format?: string): DateFormat {
  if (!format) return isoFormat;
  return NAMED[format.toLowerCase()] ?? patternFormat(format);
}
