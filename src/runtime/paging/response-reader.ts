// Reads a paging value (next URL, cursor, total) from a page: a body path, `header:<Name>`, or
// `header:Link` for the `rel="next"` target of an RFC 8288 Link header.
import { compilePath } from '../path.js';

export interface PageResponse {
  body: unknown;
  headers: Readonly<Record<string, string | string[]>>;
  /** The URL the page was requested from (relative next URLs resolve against it). */
  requestUrl: string;
  /** Raw records on the page. */
  recordCount: number;
  /** First and last raw record: identify a page, to notice an API that ignores the page parameter. */
  firstRecord?: unknown;
  lastRecord?: unknown;
}

export type ResponseReader = (page: PageResponse) => string | undefined;

const LINK = /<([^>]*)>((?:\s*;\s*[^;,]+(?:=(?:"[^"]*"|[^;,]*))?)*)/g;
const REL = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i;

/** The target of the first link whose rel list contains `rel` (default "next"). */
export function linkTarget(header: string | string[] | undefined, rel = 'next'): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(', ') : header;
  for (const m of text.matchAll(LINK)) {
    const r = REL.exec(m[2] ?? '');
    const rels = (r?.[1] ?? r?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rels.includes(rel)) return m[1]!.trim();
  }
  return undefined;
}

const scalar = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'object' ? JSON.stringify(v) : String(v);

export function compileResponseReader(target: string): ResponseReader {
  if (/^header:/i.test(target)) {
    const name = target.slice('header:'.length).trim().toLowerCase();
    if (name === 'link') return (page) => linkTarget(page.headers.link);
    return (page) => {
      const v = page.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
  }
  const path = compilePath(target);
  return (page) => scalar(path.get(page.body));
}
