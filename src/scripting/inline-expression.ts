// Inline scripts (`=…` mapping values). Cyclr splices merge-field values into the script text; we
// never do: values are data (`fields`), and the Cyclr merge-field tokens are rewritten into reads
// of that data before the expression is compiled:
//   `[Name]`  (a template literal holding just a merge field) → the value as text ('' if missing)
//   [Name]    (bare, in code, when Name is a given field)      → the value as it is (number, object…)
// The rewrite only ever inserts the field *name* (JSON-quoted) taken from the expression itself, so
// no value can change what the code is. Tokens inside strings, comments and regex literals are left
// alone; `fields.Name` / `fields['Name']` work everywhere.

const TEMPLATE_TOKEN = /^`\[([^\]`$\\\r\n]+)\]`/;
const BARE_TOKEN = /^\[([^\]`$\\\r\n[]+)\]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
// After these a `/` starts a regex literal, not a division.
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

const field = (name: string) => `__plexus_fields[${JSON.stringify(name)}]`;

/** Strips the leading `=` of an inline mapping value. */
export function expressionBody(value: string): string {
  const t = value.replace(/^\s+/, '');
  return t.startsWith('=') ? t.slice(1) : t;
}

export function rewriteInlineExpression(expression: string, knownFields: ReadonlySet<string> = new Set()): string {
  const src = expressionBody(expression);
  let out = '';
  let i = 0;
  // Each entry is a `{` opened in code: true when it opened a template `${`.
  const braces: boolean[] = [];
  let inTemplate = false;
  let lastChar = ''; // last significant code character
  let lastWord = '';

  const regexAllowed = () => lastChar === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(lastChar) || REGEX_AFTER_WORDS.has(lastWord);

  while (i < src.length) {
    const ch = src[i]!;
    if (inTemplate) {
      if (ch === '\\') {
        out += src.slice(i, i + 2);
        i += 2;
      } else if (ch === '`') {
        out += ch;
        i++;
        inTemplate = false;
        lastChar = '`';
      } else if (ch === '$' && src[i + 1] === '{') {
        out += '${';
        i += 2;
        braces.push(true);
        inTemplate = false;
        lastChar = '{';
      } else {
        out += ch;
        i++;
      }
      continue;
    }
    const rest = src.slice(i, i + 1024);
    if (ch === '`') {
      const m = TEMPLATE_TOKEN.exec(rest);
      if (m) {
        out += '`${' + field(m[1]!) + " ?? ''}`";
        i += m[0].length;
        lastChar = '`';
        continue;
      }
      out += ch;
      i++;
      inTemplate = true;
      continue;
    }
    if (ch === '[' && (!/[A-Za-z0-9_$)\]}]/.test(lastChar) || REGEX_AFTER_WORDS.has(lastWord))) {
      const m = BARE_TOKEN.exec(rest);
      if (m && knownFields.has(m[1]!)) {
        out += `(${field(m[1]!)})`;
        i += m[0].length;
        lastChar = ')';
        lastWord = '';
        continue;
      }
    }
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== ch && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
      lastChar = ch;
      lastWord = '';
      continue;
    }
    if (ch === '/' && src[i + 1] === '/') {
      const j = src.indexOf('\n', i);
      const end = j < 0 ? src.length : j;
      out += src.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '/' && src[i + 1] === '*') {
      const j = src.indexOf('*/', i + 2);
      const end = j < 0 ? src.length : j + 2;
      out += src.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '/' && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n') {
        const c = src[j]!;
        if (c === '\\') {
          j += 2;
          continue;
        }
        if (c === '[') inClass = true;
        else if (c === ']') inClass = false;
        else if (c === '/' && !inClass) break;
        j++;
      }
      j++;
      while (j < src.length && /[a-z]/i.test(src[j]!)) j++;
      out += src.slice(i, j);
      i = j;
      lastChar = '/';
      lastWord = '';
      continue;
    }
    if (ch === '{') braces.push(false);
    if (ch === '}') {
      const template = braces.pop();
      if (template) {
        out += ch;
        i++;
        inTemplate = true;
        continue;
      }
    }
    if (IDENT_CHAR.test(ch)) {
      let j = i;
      while (j < src.length && IDENT_CHAR.test(src[j]!)) j++;
      const word = src.slice(i, j);
      out += word;
      i = j;
      lastWord = word;
      lastChar = word[word.length - 1]!;
      continue;
    }
    out += ch;
    i++;
    if (!/\s/.test(ch)) {
      lastChar = ch;
      lastWord = '';
    }
  }
  return out;
}
