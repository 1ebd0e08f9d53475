// plexus_date: date/time handling with IANA time zones for scripts (the host's Intl data, so it
// works the same on every engine). Instants go in as ISO-8601 text, epoch milliseconds or Date
// objects (which reach the host as ISO text) and come out as ISO-8601 UTC text. Text without an
// offset is wall time in the given zone. Patterns use the tokens of connector field formats
// (.NET style, with moment aliases): yyyy/YYYY yy MMMM MMM MM M dddd ddd dd/DD d/D HH H hh h mm m
// ss s fff/SSS ff f tt/A zzz/Z ZZ K, and 'quoted literals'.

type Unit = 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

const UNITS: Record<string, Unit> = {};
for (const [unit, aliases] of Object.entries({
  millisecond: ['ms', 'millisecond', 'milliseconds'],
  second: ['s', 'second', 'seconds'],
  minute: ['m', 'minute', 'minutes'],
  hour: ['h', 'hour', 'hours'],
  day: ['d', 'day', 'days'],
  week: ['w', 'week', 'weeks'],
  month: ['M', 'month', 'months'],
  year: ['y', 'year', 'years'],
})) {
  for (const a of aliases) UNITS[a] = unit as Unit;
}

const FIXED_MS: Partial<Record<Unit, number>> = { millisecond: 1, second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function unitOf(name: unknown): Unit {
  const u = typeof name === 'string' ? (UNITS[name] ?? UNITS[name.toLowerCase()]) : undefined;
  if (!u) throw new Error(`plexus_date: unknown unit ${JSON.stringify(String(name)).slice(0, 30)} (use milliseconds, seconds, minutes, hours, days, weeks, months, years)`);
  return u;
}

// ---- time zones ----
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = zoneFormatters.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      throw new Error(`plexus_date: unknown time zone ${JSON.stringify(zone).slice(0, 60)}`);
    }
    if (zoneFormatters.size > 200) zoneFormatters.clear();
    zoneFormatters.set(zone, f);
  }
  return f;
}

function zoneName(zone: unknown): string {
  if (zone === undefined || zone === null || zone === '') return 'UTC';
  if (typeof zone !== 'string') throw new Error('plexus_date: the time zone must be an IANA name such as "Europe/London"');
  return zone;
}

/** Offset of the zone from UTC at an instant, in minutes (east positive). */
export function zoneOffsetMinutes(instant: number, zone: string): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  const parts: Record<string, string> = {};
  for (const p of zoneFormatter(zone).formatToParts(new Date(instant))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  const wall = Date.UTC(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const whole = instant - (((instant % 1000) + 1000) % 1000);
  return Math.round((wall - whole) / 60_000);
}

/** The instant at which the zone's clocks show this wall time (the later one in a DST gap). */
function wallToInstant(wall: number, zone: string): number {
  const first = wall - zoneOffsetMinutes(wall, zone) * 60_000;
  const second = wall - zoneOffsetMinutes(first, zone) * 60_000;
  return second;
}

// ---- parsing ----
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function offsetOf(text: string): number {
  if (text.toUpperCase() === 'Z') return 0;
  const digits = text.replace(':', '');
  const sign = digits[0] === '-' ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || '0'));
}

function checkedWall(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const c = new Date(t);
  return c.getUTCDate() === d && c.getUTCMonth() === mo - 1 ? t : undefined;
}

function parseLoose(value: unknown, zone: string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d+$/.test(text) && text.length >= 9) return Number(text);
  const m = ISO.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s, f, off] = m;
    const wall = checkedWall(+y!, +mo!, +d!, h ? +h : 0, mi ? +mi : 0, s ? +s : 0, f ? Number(f.slice(0, 3).padEnd(3, '0')) : 0);
    if (wall === undefined) return undefined;
    return off ? wall - offsetOf(off) * 60_000 : wallToInstant(wall, zone);
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

// ---- patterns ----
interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
  pm?: boolean;
  offset?: number;
}

interface Token {
  re: string;
  set?: (p: Parts, t: string) => void;
  out: (w: Date, offset: number) => string;
}

const pad = (n: number, w: number) => String(Math.abs(n)).padStart(w, '0');
const offsetText = (min: number, colon: boolean) => `${min < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(min) / 60), 2)}${colon ? ':' : ''}${pad(Math.abs(min) % 60, 2)}`;

const TOKENS: Record<string, Token> = {
  yyyy: { re: '(\\d{4})', set: (p, t) => (p.y = +t), out: (w) => pad(w.getUTCFullYear(), 4) },
  yy: { re: '(\\d{2})', set: (p, t) => (p.y = 2000 + +t), out: (w) => pad(w.getUTCFullYear() % 100, 2) },
  MMMM: { re: `(${MONTHS.join('|')})`, set: (p, t) => (p.mo = MONTHS.findIndex((m) => m.toLowerCase() === t.toLowerCase()) + 1), out: (w) => MONTHS[w.getUTCMonth()]! },
  MMM: { re: `(${MONTHS.map((m) => m.slice(0, 3)).join('|')})`, set: (p, t) => (p.mo = MONTHS.findIndex((m) => m.slice(0, 3).toLowerCase() === t.toLowerCase()) + 1), out: (w) => MONTHS[w.getUTCMonth()]!.slice(0, 3) },
  MM: { re: '(\\d{2})', set: (p, t) => (p.mo = +t), out: (w) => pad(w.getUTCMonth() + 1, 2) },
  M: { re: '(\\d{1,2})', set: (p, t) => (p.mo = +t), out: (w) => String(w.getUTCMonth() + 1) },
  dddd: { re: `(${DAYS.join('|')})`, out: (w) => DAYS[w.getUTCDay()]! },
  ddd: { re: `(${DAYS.map((d) => d.slice(0, 3)).join('|')})`, out: (w) => DAYS[w.getUTCDay()]!.slice(0, 3) },
  dd: { re: '(\\d{2})', set: (p, t) => (p.d = +t), out: (w) => pad(w.getUTCDate(), 2) },
  d: { re: '(\\d{1,2})', set: (p, t) => (p.d = +t), out: (w) => String(w.getUTCDate()) },
  HH: { re: '(\\d{2})', set: (p, t) => (p.h = +t), out: (w) => pad(w.getUTCHours(), 2) },
  H: { re: '(\\d{1,2})', set: (p, t) => (p.h = +t), out: (w) => String(w.getUTCHours()) },
  hh: { re: '(\\d{2})', set: (p, t) => (p.h = +t % 12), out: (w) => pad(w.getUTCHours() % 12 || 12, 2) },
  h: { re: '(\\d{1,2})', set: (p, t) => (p.h = +t % 12), out: (w) => String(w.getUTCHours() % 12 || 12) },
  mm: { re: '(\\d{2})', set: (p, t) => (p.mi = +t), out: (w) => pad(w.getUTCMinutes(), 2) },
  m: { re: '(\\d{1,2})', set: (p, t) => (p.mi = +t), out: (w) => String(w.getUTCMinutes()) },
  ss: { re: '(\\d{2})', set: (p, t) => (p.s = +t), out: (w) => pad(w.getUTCSeconds(), 2) },
  s: { re: '(\\d{1,2})', set: (p, t) => (p.s = +t), out: (w) => String(w.getUTCSeconds()) },
  fff: { re: '(\\d{3})', set: (p, t) => (p.ms = +t), out: (w) => pad(w.getUTCMilliseconds(), 3) },
  ff: { re: '(\\d{2})', set: (p, t) => (p.ms = +t * 10), out: (w) => pad(Math.floor(w.getUTCMilliseconds() / 10), 2) },
  f: { re: '(\\d)', set: (p, t) => (p.ms = +t * 100), out: (w) => String(Math.floor(w.getUTCMilliseconds() / 100)) },
  tt: { re: '(AM|PM)', set: (p, t) => (p.pm = t.toUpperCase() === 'PM'), out: (w) => (w.getUTCHours() < 12 ? 'AM' : 'PM') },
  zzz: { re: '(Z|[+-]\\d{2}:?\\d{2})', set: (p, t) => (p.offset = offsetOf(t)), out: (_w, o) => offsetText(o, true) },
  ZZ: { re: '(Z|[+-]\\d{2}:?\\d{2})', set: (p, t) => (p.offset = offsetOf(t)), out: (_w, o) => offsetText(o, false) },
  K: { re: '(Z|[+-]\\d{2}:?\\d{2})', set: (p, t) => (p.offset = offsetOf(t)), out: (_w, o) => (o === 0 ? 'Z' : offsetText(o, true)) },
};
TOKENS.YYYY = TOKENS.yyyy!;
TOKENS.YY = TOKENS.yy!;
TOKENS.DD = TOKENS.dd!;
TOKENS.D = TOKENS.d!;
TOKENS.SSS = TOKENS.fff!;
TOKENS.A = TOKENS.tt!;
TOKENS.Z = TOKENS.zzz!;

const TOKEN_RE = /'[^']*'|yyyy|YYYY|yy|YY|MMMM|MMM|MM|M|dddd|ddd|DD|dd|D|d|HH|H|hh|h|mm|m|ss|s|SSS|fff|ff|f|tt|A|zzz|ZZ|Z|K/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Pattern {
  regex: RegExp;
  setters: Array<((p: Parts, t: string) => void) | undefined>;
  outs: Array<string | Token['out']>;
}

const patterns = new Map<string, Pattern>();

function compile(pattern: string): Pattern {
  let p = patterns.get(pattern);
  if (p) return p;
  if (pattern.length > 200) throw new Error('plexus_date: the pattern is too long');
  const setters: Pattern['setters'] = [];
  const outs: Pattern['outs'] = [];
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
    setters.push(token.set);
    outs.push(token.out);
  }
  literal(pattern.slice(last));
  p = { regex: new RegExp(`^${re}$`, 'i'), setters, outs };
  if (patterns.size > 500) patterns.clear();
  patterns.set(pattern, p);
  return p;
}

function parseWith(text: string, pattern: string, zone: string): number | undefined {
  const { regex, setters } = compile(pattern);
  const m = regex.exec(text.trim());
  if (!m) return undefined;
  const p: Parts = { y: 1970, mo: 1, d: 1, h: 0, mi: 0, s: 0, ms: 0 };
  setters.forEach((set, i) => set?.(p, m[i + 1]!));
  if (p.pm) p.h += 12;
  const wall = checkedWall(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms);
  if (wall === undefined) return undefined;
  return p.offset !== undefined ? wall - p.offset * 60_000 : wallToInstant(wall, zone);
}

// ---- the helper ----
function instant(value: unknown, zone: string, what: string): number {
  const t = value === undefined || value === null ? Date.now() : parseLoose(value, zone);
  if (t === undefined || !Number.isFinite(t) || Math.abs(t) > 8.64e15) throw new Error(`plexus_date.${what}: not a date: ${JSON.stringify(value).slice(0, 60)}`);
  return t;
}

const iso = (t: number) => new Date(t).toISOString();

export function formatDate(value: unknown, pattern?: unknown, zoneArg?: unknown): string | number {
  const zone = zoneName(zoneArg);
  const t = instant(value, zone, 'format');
  const fmt = typeof pattern === 'string' && pattern !== '' ? pattern : 'iso';
  if (fmt.toLowerCase() === 'unix') return Math.floor(t / 1000);
  if (fmt.toLowerCase() === 'unixms') return t;
  const offset = zoneOffsetMinutes(t, zone);
  const wall = new Date(t + offset * 60_000);
  if (fmt.toLowerCase() === 'iso' || fmt.toLowerCase() === 'iso8601') {
    const base = wall.toISOString().slice(0, 23);
    return zone === 'UTC' ? `${base}Z` : `${base}${offsetText(offset, true)}`;
  }
  return compile(fmt)
    .outs.map((o) => (typeof o === 'string' ? o : o(wall, offset)))
    .join('');
}

export function parseDate(text: unknown, pattern?: unknown, zoneArg?: unknown): string | null {
  const zone = zoneName(zoneArg);
  if (text === undefined || text === null || text === '') return null;
  const t = typeof pattern === 'string' && pattern !== '' ? parseWith(String(text), pattern, zone) : parseLoose(text, zone);
  return t === undefined ? null : iso(t);
}

export function addToDate(value: unknown, amount: unknown, unitName: unknown, zoneArg?: unknown): string {
  const zone = zoneName(zoneArg);
  const t = instant(value, zone, 'add');
  const n = Number(amount);
  if (!Number.isFinite(n)) throw new Error('plexus_date.add: the amount must be a number');
  const unit = unitOf(unitName);
  if (unit !== 'day' && unit !== 'week' && unit !== 'month' && unit !== 'year') return iso(t + n * FIXED_MS[unit]!);
  // Calendar units move the wall clock of the zone, so "+1 day" stays at the same local time across DST.
  const offset = zoneOffsetMinutes(t, zone);
  const wall = new Date(t + offset * 60_000);
  if (unit === 'day' || unit === 'week') wall.setUTCDate(wall.getUTCDate() + Math.trunc(n) * (unit === 'week' ? 7 : 1));
  else {
    const months = Math.trunc(n) * (unit === 'year' ? 12 : 1);
    const day = wall.getUTCDate();
    wall.setUTCDate(1);
    wall.setUTCMonth(wall.getUTCMonth() + months);
    const last = new Date(Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth() + 1, 0)).getUTCDate();
    wall.setUTCDate(Math.min(day, last));
  }
  return iso(wallToInstant(wall.getTime(), zone));
}

export function startOfDate(value: unknown, unitName: unknown, zoneArg?: unknown): string {
  const zone = zoneName(zoneArg);
  const t = instant(value, zone, 'startOf');
  const name = typeof unitName === 'string' && unitName.toLowerCase() === 'isoweek' ? 'isoWeek' : unitOf(unitName);
  const w = new Date(t + zoneOffsetMinutes(t, zone) * 60_000);
  const y = w.getUTCFullYear();
  const mo = w.getUTCMonth();
  const d = w.getUTCDate();
  let wall: number;
  switch (name) {
    case 'year':
      wall = Date.UTC(y, 0, 1);
      break;
    case 'month':
      wall = Date.UTC(y, mo, 1);
      break;
    case 'week':
      wall = Date.UTC(y, mo, d - w.getUTCDay());
      break;
    case 'isoWeek':
      wall = Date.UTC(y, mo, d - ((w.getUTCDay() + 6) % 7));
      break;
    case 'day':
      wall = Date.UTC(y, mo, d);
      break;
    case 'hour':
      wall = Date.UTC(y, mo, d, w.getUTCHours());
      break;
    case 'minute':
      wall = Date.UTC(y, mo, d, w.getUTCHours(), w.getUTCMinutes());
      break;
    case 'second':
      wall = Date.UTC(y, mo, d, w.getUTCHours(), w.getUTCMinutes(), w.getUTCSeconds());
      break;
    default:
      wall = w.getTime();
  }
  return iso(wallToInstant(wall, zone));
}

export function diffDates(a: unknown, b: unknown, unitName?: unknown): number {
  const ta = instant(a, 'UTC', 'diff');
  const tb = instant(b, 'UTC', 'diff');
  const unit = unitName === undefined ? 'millisecond' : unitOf(unitName);
  if (unit === 'month' || unit === 'year') {
    const da = new Date(ta);
    const db = new Date(tb);
    let months = (da.getUTCFullYear() - db.getUTCFullYear()) * 12 + (da.getUTCMonth() - db.getUTCMonth());
    // A month is complete only when the later date has reached the same day and time.
    const restA = ta - Date.UTC(da.getUTCFullYear(), da.getUTCMonth(), 1);
    const restB = tb - Date.UTC(db.getUTCFullYear(), db.getUTCMonth(), 1);
    if (months > 0 && restA < restB) months--;
    if (months < 0 && restA > restB) months++;
    return unit === 'year' ? Math.trunc(months / 12) : months;
  }
  return Math.trunc((ta - tb) / FIXED_MS[unit]!);
}

export function offsetOfZone(value: unknown, zoneArg?: unknown): number {
  const zone = zoneName(zoneArg);
  return zoneOffsetMinutes(instant(value, zone, 'offset'), zone);
}

export function isValidDate(text: unknown, pattern?: unknown, zoneArg?: unknown): boolean {
  try {
    return parseDate(text, pattern, zoneArg) !== null;
  } catch {
    return false;
  }
}
