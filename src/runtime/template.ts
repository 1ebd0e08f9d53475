// `{{Var}}` / `{{Var format=...}}` templates compiled once into a render function: parsing,
// format compilation and encoding decisions happen here, rendering is string concatenation.
import { scanTemplate } from '../definition/variables.js';
import { compileDateFormat, toDate } from './datetime.js';
import { MethodInputError } from './errors.js';

export type TemplateVars = Readonly<Record<string, unknown>>;

export interface CompiledTemplate {
  (vars: TemplateVars): string;
  readonly source: string;
  /** Variable names used, in order, without duplicates. */
  readonly variables: readonly string[];
  /** No placeholders: the render always returns `source`. */
  readonly isStatic: boolean;
}

/** Encodes one rendered value; gets the variable name for error messages. */
export type ValueEncoder = (text: string, name: string) => string;

type Part = string | ((vars: TemplateVars) => string);

/** Cyclr spells the paging variables `CYCLR_PAGE_*`; both spellings are accepted. */
export const normaliseVariable = (name: string): string => (name.startsWith('CYCLR_PAGE_') ? name.slice(6) : name);

/** Template text of a value: dates as ISO 8601, objects as JSON, null/undefined as "". */
export function valueToText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function placeholder(name: string, format: string | undefined, encode: ValueEncoder | undefined): (vars: TemplateVars) => string {
  const fmt = format === undefined ? undefined : compileDateFormat(format);
  return (vars) => {
    const value = vars[name];
    let text: string;
    if (fmt && value !== undefined && value !== null && value !== '') {
      const date = toDate(value);
      text = date ? String(fmt.format(date)) : valueToText(value);
    } else text = valueToText(value);
    return encode && text !== '' ? encode(text, name) : text;
  };
}

function build(source: string, parts: Part[], variables: string[]): CompiledTemplate {
  let render: (vars: TemplateVars) => string;
  if (parts.length === 0) render = () => '';
  else if (parts.length === 1) {
    const only = parts[0]!;
    render = typeof only === 'string' ? () => only : only;
  } else {
    render = (vars) => {
      let out = '';
      for (const p of parts) out += typeof p === 'string' ? p : p(vars);
      return out;
    };
  }
  return Object.assign(render, { source, variables: [...new Set(variables)], isStatic: variables.length === 0 });
}

/**
 * Compiles a template. `encode` (e.g. `encodeURIComponent`) is applied to every substituted value,
 * never to the literal text. Malformed placeholders are kept as literal text (validation reports them).
 */
export function compileTemplate(source: string, encode?: ValueEncoder): CompiledTemplate {
  return compileWith(source, () => encode);
}

function compileWith(source: string, encoderAt: (literalBefore: string) => ValueEncoder | undefined): CompiledTemplate {
  const parts: Part[] = [];
  const variables: string[] = [];
  let last = 0;
  for (const token of scanTemplate(source).tokens) {
    if (token.offset > last) parts.push(source.slice(last, token.offset));
    const name = normaliseVariable(token.name);
    variables.push(name);
    parts.push(placeholder(name, token.format, encoderAt(source.slice(0, token.offset))));
    last = token.offset + token.raw.length;
  }
  if (last < source.length) parts.push(source.slice(last));
  return build(source, parts, variables);
}

const HOST_SAFE = /^[A-Za-z0-9._~:[\]-]+$/;
const hostPart: ValueEncoder = (text, name) => {
  // A merge value in the host must not be able to move the request to another host
  // (`evil.com/x#`, `user@evil.com`).
  if (!HOST_SAFE.test(text)) throw new MethodInputError(`merge field "${name}" is not valid in a host name`);
  return text;
};
const component: ValueEncoder = (text) => encodeURIComponent(text);

/**
 * A URL template: values are URL-encoded in the path and query, checked in the host, and
 * inserted raw only when a placeholder starts the URL (e.g. `{{InstanceUrl}}/api`, a full origin).
 */
export function compileUrlTemplate(source: string): CompiledTemplate {
  return compileWith(source, (before) => {
    // Which part of the URL the placeholder sits in, judged from the literal text before it.
    const text = before.replace(/\{\{[^}]*\}\}/g, 'x');
    if (before === '') return undefined;
    const scheme = text.indexOf('://');
    if (scheme < 0) return component; // relative path, or after a leading full-URL placeholder
    const rest = text.slice(scheme + 3);
    return /[/?#]/.test(rest) ? component : hostPart;
  });
}
