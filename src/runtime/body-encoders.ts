// Request body encoders keyed by the method's body format. Each turns the assembled body value
// (fields and body parameters placed at their locations) into bytes plus a Content-Type.
import { randomBytes } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';
import { FileValue } from './coerce.js';
import type { BodyFormat } from '../definition/schema.js';

export interface EncodedBody {
  body: string | Buffer;
  contentType: string;
}

export type BodyEncoder = (value: unknown) => EncodedBody;

/** Files become base64 text for formats that have no file parts. */
function filesToBase64(value: unknown): unknown {
  if (value instanceof FileValue) return value.toJSON();
  if (Array.isArray(value)) return value.map(filesToBase64);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = filesToBase64(v);
    return out;
  }
  return value;
}

const scalarText = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

const json: BodyEncoder = (value) => ({ body: JSON.stringify(value), contentType: 'application/json' });

/**
 * Nested objects use bracket keys (`a[b]=1`), arrays of objects indexed keys (`a[0][b]=1`) and
 * arrays of scalars `a[]=1&a[]=2`: the Rails/PHP/Stripe convention.
 */
const form: BodyEncoder = (value) => {
  const params = new URLSearchParams();
  const add = (key: string, v: unknown): void => {
    if (v === undefined) return;
    if (v instanceof FileValue) params.append(key, v.toJSON());
    else if (Array.isArray(v)) v.forEach((item, i) => add(item !== null && typeof item === 'object' && !(item instanceof FileValue) ? `${key}[${i}]` : `${key}[]`, item));
    else if (v !== null && typeof v === 'object') for (const [k, inner] of Object.entries(v)) add(key ? `${key}[${k}]` : k, inner);
    else params.append(key, scalarText(v));
  };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) add('', value);
  else params.append('value', scalarText(value));
  return { body: params.toString(), contentType: 'application/x-www-form-urlencoded' };
};

function xml(root: string | undefined): BodyEncoder {
  // `@_name` keys become attributes and `#text` the element text (fast-xml-parser conventions).
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', suppressEmptyNode: true });
  return (value) => {
    const plain = filesToBase64(value);
    const single = plain !== null && typeof plain === 'object' && !Array.isArray(plain) && Object.keys(plain).length === 1;
    const doc = root ? { [root]: plain } : single ? plain : { root: plain };
    return { body: `<?xml version="1.0" encoding="UTF-8"?>${builder.build(doc) as string}`, contentType: 'application/xml' };
  };
}

/** A string body is sent as is; an object with one key sends that value; anything else as JSON. */
const text: BodyEncoder = (value) => {
  let out = value;
  if (out !== null && typeof out === 'object' && !Array.isArray(out) && !(out instanceof FileValue)) {
    const values = Object.values(out);
    if (values.length === 1) out = values[0];
  }
  const body = out instanceof FileValue ? out.content : typeof out === 'string' ? out : JSON.stringify(out);
  return { body, contentType: 'text/plain; charset=utf-8' };
};

const quote = (s: string) => s.replace(/["\\\r\n]/g, (c) => (c === '"' ? '%22' : c === '\\' ? '\\\\' : ' '));

/** multipart/form-data built by hand: top-level keys are parts, files are file parts. */
const multipart: BodyEncoder = (value) => {
  const boundary = `----PlexusBoundary${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  const part = (name: string, content: Buffer | string, fileName?: string, contentType?: string) => {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"`;
    if (fileName !== undefined) head += `; filename="${quote(fileName)}"`;
    if (contentType) head += `\r\nContent-Type: ${contentType}`;
    chunks.push(Buffer.from(`${head}\r\n\r\n`), typeof content === 'string' ? Buffer.from(content) : content, Buffer.from('\r\n'));
  };
  const add = (name: string, v: unknown) => {
    if (v === undefined) return;
    if (v instanceof FileValue) part(name, v.content, v.fileName ?? name, v.contentType ?? 'application/octet-stream');
    else if (Array.isArray(v)) v.forEach((item) => add(name, item));
    else if (v !== null && typeof v === 'object') part(name, JSON.stringify(filesToBase64(v)), undefined, 'application/json');
    else part(name, scalarText(v));
  };
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof FileValue)) {
    for (const [k, v] of Object.entries(value)) add(k, v);
  } else add('file', value);
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
};

/** The encoder of a body format, built once per method. */
export function compileBodyEncoder(format: BodyFormat | undefined, xmlRoot?: string): BodyEncoder {
  switch (format ?? 'json') {
    case 'json':
      return json;
    case 'form':
      return form;
    case 'xml':
      return xml(xmlRoot);
    case 'text':
      return text;
    case 'multipart':
      return multipart;
  }
}
