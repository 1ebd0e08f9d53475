// btoa/atob with a character set, with the semantics of the .NET encodings Cyclr uses: ASCII turns
// anything above 0x7F into '?', ISO-8859-1 maps accented letters outside Latin-1 to their base
// letter ("best fit", 'ĕ' → 'e') and anything else to '?', UTF-16 means little-endian, no BOM is
// written. Decoding also accepts any label Node's TextDecoder knows (windows-1252, shift_jis…).

export type Charset = 'ascii' | 'latin1' | 'utf-7' | 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';

const ALIASES: Record<string, Charset> = {
  ascii: 'ascii',
  'us-ascii': 'ascii',
  'iso-8859-1': 'latin1',
  iso88591: 'latin1',
  'iso_8859-1': 'latin1',
  latin1: 'latin1',
  'latin-1': 'latin1',
  'utf-7': 'utf-7',
  utf7: 'utf-7',
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'utf-16': 'utf-16le',
  utf16: 'utf-16le',
  unicode: 'utf-16le',
  'utf-16le': 'utf-16le',
  utf16le: 'utf-16le',
  'utf-16be': 'utf-16be',
  utf16be: 'utf-16be',
  'utf-32': 'utf-32le',
  utf32: 'utf-32le',
  'utf-32le': 'utf-32le',
  utf32le: 'utf-32le',
  'utf-32be': 'utf-32be',
  utf32be: 'utf-32be',
};

export const SUPPORTED_CHARSETS = ['ASCII', 'ISO-8859-1', 'UTF-7', 'UTF-8', 'UTF-16', 'UTF-16LE', 'UTF-16BE', 'UTF-32', 'UTF-32LE', 'UTF-32BE'];

export function charsetOf(name: unknown): Charset | undefined {
  if (name === undefined || name === null || name === '') return 'utf-8';
  if (typeof name !== 'string') return undefined;
  return ALIASES[name.trim().toLowerCase()];
}

function unsupported(name: unknown, what: string): Error {
  return new Error(`${what}: unsupported charset ${JSON.stringify(String(name)).slice(0, 60)} (supported: ${SUPPORTED_CHARSETS.join(', ')})`);
}

// Best fit for Latin-1: drop combining marks after canonical decomposition ('ĕ' → 'e' + U+0306).
function latin1BestFit(ch: string): number {
  const base = ch.normalize('NFD')[0];
  const code = base ? base.charCodeAt(0) : 0x3f;
  return code <= 0xff && base!.length === 1 && base !== ch ? code : 0x3f;
}

export function encodeText(text: string, charset: Charset): Buffer {
  switch (charset) {
    case 'utf-8':
      return Buffer.from(text, 'utf8');
    case 'ascii': {
      // One '?' per character, a surrogate pair included (as .NET does).
      const bytes: number[] = [];
      for (const ch of text) bytes.push(ch.length === 1 && ch.charCodeAt(0) < 0x80 ? ch.charCodeAt(0) : 0x3f);
      return Buffer.from(bytes);
    }
    case 'latin1': {
      const bytes: number[] = [];
      for (const ch of text) {
        const c = ch.codePointAt(0)!;
        bytes.push(c <= 0xff ? c : latin1BestFit(ch));
      }
      return Buffer.from(bytes);
    }
    case 'utf-16le':
      return Buffer.from(text, 'utf16le');
    case 'utf-16be':
      return Buffer.from(text, 'utf16le').swap16();
    case 'utf-32le':
    case 'utf-32be': {
      const points = [...text].map((ch) => ch.codePointAt(0)!);
      const out = Buffer.alloc(points.length * 4);
      points.forEach((p, i) => {
        const cp = p >= 0xd800 && p <= 0xdfff ? 0xfffd : p;
        if (charset === 'utf-32le') out.writeUInt32LE(cp, i * 4);
        else out.writeUInt32BE(cp, i * 4);
      });
      return out;
    }
    case 'utf-7':
      return Buffer.from(utf7Encode(text), 'ascii');
  }
}

export function decodeBytes(bytes: Buffer, charset: Charset | string): string {
  switch (charset) {
    case 'utf-8':
      return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    case 'ascii': {
      let s = '';
      for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : '?';
      return s;
    }
    case 'latin1':
      return bytes.toString('latin1');
    case 'utf-16le':
      return new TextDecoder('utf-16le', { ignoreBOM: true }).decode(bytes);
    case 'utf-16be':
      return new TextDecoder('utf-16be', { ignoreBOM: true }).decode(bytes);
    case 'utf-32le':
    case 'utf-32be': {
      let s = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        const cp = charset === 'utf-32le' ? bytes.readUInt32LE(i) : bytes.readUInt32BE(i);
        s += cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
      }
      if (bytes.length % 4 !== 0) s += '\ufffd';
      return s;
    }
    case 'utf-7':
      return utf7Decode(bytes.toString('latin1'));
    default:
      return new TextDecoder(charset, { ignoreBOM: true }).decode(bytes);
  }
}

// ---- UTF-7 (RFC 2152), as .NET's UTF7Encoding without optional direct characters ----
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIRECT = /[A-Za-z0-9'(),\-./:? \t\r\n]/;

function utf7Encode(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '+') {
      out += '+-';
      i++;
      continue;
    }
    if (DIRECT.test(ch)) {
      out += ch;
      i++;
      continue;
    }
    // A run of characters that need encoding, as modified base64 of UTF-16BE.
    let j = i;
    while (j < text.length && !DIRECT.test(text[j]!) && text[j] !== '+') j++;
    const units = Buffer.from(text.slice(i, j), 'utf16le').swap16();
    out += '+' + units.toString('base64').replace(/=+$/, '') + '-';
    i = j;
  }
  return out;
}

function utf7Decode(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '+') {
      out += ch;
      i++;
      continue;
    }
    let j = i + 1;
    if (text[j] === '-') {
      out += '+';
      i = j + 1;
      continue;
    }
    while (j < text.length && B64.includes(text[j]!)) j++;
    const run = text.slice(i + 1, j);
    // Bits that do not fill a 16-bit unit are discarded.
    let bits = 0;
    let value = 0;
    const units: number[] = [];
    for (const c of run) {
      value = ((value << 6) | B64.indexOf(c)) & 0xffffff;
      bits += 6;
      if (bits >= 16) {
        units.push((value >> (bits - 16)) & 0xffff);
        bits -= 16;
      }
    }
    out += String.fromCharCode(...units);
    i = text[j] === '-' ? j + 1 : j;
  }
  return out;
}

const BASE64_RE = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export function btoaCharset(value: unknown, charsetName?: unknown): string {
  const charset = charsetOf(charsetName);
  if (!charset) throw unsupported(charsetName, 'btoa');
  return encodeText(value === undefined || value === null ? '' : String(value), charset).toString('base64');
}

export function atobCharset(value: unknown, charsetName?: unknown): string {
  const known = charsetOf(charsetName);
  let charset: string | undefined = known;
  if (!charset && typeof charsetName === 'string') {
    try {
      new TextDecoder(charsetName.trim());
      charset = charsetName.trim();
    } catch {
      charset = undefined;
    }
  }
  if (!charset) throw unsupported(charsetName, 'atob');
  const text = (value === undefined || value === null ? '' : String(value)).replace(/\s+/g, '');
  if (!BASE64_RE.test(text)) throw new Error('atob: the value is not valid base64');
  return decodeBytes(Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'), charset);
}
