// Response bodies parsed by Content-Type (or the method's declared format): JSON, XML,
// form-urlencoded, text. Malformed JSON/XML is a typed `parse` error with a redacted excerpt.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HttpParseError, bodyExcerpt, redact, redactUrl } from './http/errors.js';

export type ResponseFormat = 'json' | 'xml' | 'text' | 'form';

export interface ParseContext {
  /** The request URL; a function so that redaction runs only when an error needs it. */
  url: string | (() => string);
  method: string;
  secrets: readonly string[];
}

// Tag values stay text: field coercion gives them their declared types.
const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  trimValues: true,
});

export function formatOf(contentType: string | string[] | undefined): ResponseFormat | undefined {
  const ct = (Array.isArray(contentType) ? contentType[0] : contentType)?.toLowerCase() ?? '';
  if (ct.includes('json')) return 'json';
  if (ct.includes('xml')) return 'xml';
  if (ct.includes('x-www-form-urlencoded')) return 'form';
  if (ct.startsWith('text/')) return 'text';
  return undefined;
}

function parseError(ctx: ParseContext, body: Buffer, reason: string): HttpParseError {
  return new HttpParseError({
    // V8 quotes the input in JSON errors, so the reason is redacted too.
    reason: redact(reason, ctx.secrets),
    url: redactUrl(typeof ctx.url === 'function' ? ctx.url() : ctx.url, ctx.secrets),
    method: ctx.method,
    bodyExcerpt: bodyExcerpt(body, ctx.secrets, 200),
  });
}

/** Parses a body; an empty body is `null`. Unknown types are sniffed: `{`/`[` → JSON, else text. */
export function parseResponseBody(
  body: Buffer,
  contentType: string | string[] | undefined,
  declared: ResponseFormat | undefined,
  ctx: ParseContext,
): unknown {
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  let format = declared ?? formatOf(contentType);
  if (!format) {
    const first = text.trimStart()[0];
    format = first === '{' || first === '[' ? 'json' : first === '<' ? 'xml' : 'text';
  }
  switch (format) {
    case 'json':
      if (text.trim() === '') return null;
      try {
        return JSON.parse(text);
      } catch (err) {
        throw parseError(ctx, body, `malformed JSON: ${(err as Error).message.slice(0, 120)}`);
      }
    case 'xml': {
      const valid = XMLValidator.validate(text);
      if (valid !== true) throw parseError(ctx, body, `malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
      return xmlParser.parse(text) as unknown;
    }
    case 'form':
      return Object.fromEntries(new URLSearchParams(text));
    case 'text':
      return text;
  }
}
