// The pure (side-effect free, synchronous) helpers scripts call through the sandbox boundary.
// Arguments arrive as JSON and results leave as JSON: one entry point, every name checked.
import { atobCharset, btoaCharset } from './charsets.js';
import { cyclrCsvParse } from './csv.js';
import { addToDate, diffDates, formatDate, isValidDate, offsetOfZone, parseDate, startOfDate } from './dates.js';
import { cyclrSign } from './sign.js';
import { cyclrXmlDeserialize, cyclrXmlSerialize } from './xml.js';

type PureHelper = (...args: unknown[]) => unknown;

export const PURE_HELPERS: Readonly<Record<string, PureHelper>> = Object.freeze({
  btoa: (v, c) => btoaCharset(v, c),
  atob: (v, c) => atobCharset(v, c),
  cyclr_sign: (a, k, v) => cyclrSign(a, k, v),
  cyclr_csv_parse: (csv, d, h) => cyclrCsvParse(csv, d, h),
  cyclr_xml_serialize: (v) => cyclrXmlSerialize(v),
  cyclr_xml_deserialize: (x) => cyclrXmlDeserialize(x),
  'date.format': (v, p, z) => formatDate(v, p, z),
  'date.parse': (t, p, z) => parseDate(t, p, z),
  'date.add': (v, n, u, z) => addToDate(v, n, u, z),
  'date.startOf': (v, u, z) => startOfDate(v, u, z),
  'date.diff': (a, b, u) => diffDates(a, b, u),
  'date.offset': (v, z) => offsetOfZone(v, z),
  'date.isValid': (t, p, z) => isValidDate(t, p, z),
});

/** Largest argument JSON a helper accepts (the sandbox's own memory limit is the other bound). */
export const MAX_HELPER_INPUT_CHARS = 32 * 1024 * 1024;

/** Runs a pure helper: `{"value": …}` or `{"error": "message"}`; never throws, never leaks host stacks. */
export function callPureHelper(name: unknown, argsJson: unknown): string {
  try {
    if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(PURE_HELPERS, name)) return JSON.stringify({ error: 'unknown helper' });
    if (typeof argsJson !== 'string' || argsJson.length > MAX_HELPER_INPUT_CHARS) return JSON.stringify({ error: `${name}: the arguments are too large` });
    const args = JSON.parse(argsJson) as unknown;
    const value = PURE_HELPERS[name]!(...(Array.isArray(args) ? args : []));
    return JSON.stringify({ value: value === undefined ? null : value });
  } catch (err) {
    return JSON.stringify({ error: err instanceof Error ? err.message : 'helper failed' });
  }
}
