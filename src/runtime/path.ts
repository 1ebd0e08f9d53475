// Field locations compiled once into getters/setters. Syntax: `a.b`, `items[0].id`, `items[-1].id`
// (from the end), `tags[]` (every element), Cyclr's `[records].Email` (= `records[].Email`) and
// `\a.b\` for a key that contains dots. `""` and `.` mean the value itself.

export const EACH = Symbol('each');
export type Segment = string | number | typeof EACH;

export interface CompiledPath {
  readonly source: string;
  readonly segments: readonly Segment[];
  /** True when the path fans out over an array (`[]`). */
  readonly many: boolean;
  get(root: unknown): unknown;
  /** Sets the value, creating objects/arrays on the way; returns the (possibly new) root. */
  set(root: unknown, value: unknown): unknown;
  /** Like `set` but copies the containers along the path instead of mutating them. */
  replace(root: unknown, value: unknown): unknown;
}

export function parsePath(source: string): Segment[] {
  const segments: Segment[] = [];
  if (source === '' || source === '.') return segments;
  let cur = '';
  let pending = false; // a name was started (allows empty-string keys after escapes)
  const flush = () => {
    if (cur !== '' || pending) segments.push(cur);
    cur = '';
    pending = false;
  };
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    if (c === '\\') {
      const end = source.indexOf('\\', i + 1);
      const stop = end < 0 ? source.length : end;
      cur += source.slice(i + 1, stop);
      pending = true;
      i = stop + 1;
    } else if (c === '.') {
      flush();
      i++;
    } else if (c === '[') {
      const end = source.indexOf(']', i);
      const stop = end < 0 ? source.length : end;
      const inner = source.slice(i + 1, stop);
      flush();
      if (inner === '') segments.push(EACH);
      else if (/^-?\d+$/.test(inner)) segments.push(Number(inner));
      else segments.push(inner, EACH); // Cyclr: [records] names an array
      i = stop + 1;
    } else {
      cur += c;
      i++;
    }
  }
  flush();
  // Definitions are partner-authored: never let a location reach an object's prototype.
  if (segments.includes('__proto__')) throw new Error(`location ${JSON.stringify(source)} may not use "__proto__"`);
  return segments;
}

function getAt(value: unknown, segments: readonly Segment[], from: number): unknown {
  let cur = value;
  for (let i = from; i < segments.length; i++) {
    if (cur === null || cur === undefined) return undefined;
    const seg = segments[i]!;
    if (seg === EACH) {
      if (!Array.isArray(cur)) return undefined;
      return cur.map((item) => getAt(item, segments, i + 1));
    }
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[seg < 0 ? cur.length + seg : seg];
    } else {
      if (typeof cur !== 'object') return undefined;
      cur = Object.hasOwn(cur, seg) ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return cur;
}

const emptyFor = (seg: Segment | undefined): unknown => (seg === undefined ? undefined : typeof seg === 'string' ? {} : []);

function setAt(container: unknown, segments: readonly Segment[], i: number, value: unknown, copy: boolean): unknown {
  if (i === segments.length) return value;
  const seg = segments[i]!;
  const next = segments[i + 1];
  if (seg === EACH) {
    // `a[].b` with an array value puts element k at a[k].b.
    const items = Array.isArray(value) ? value : [value];
    const arr = Array.isArray(container) ? (copy ? [...container] : container) : [];
    items.forEach((item, k) => {
      arr[k] = setAt(arr[k] ?? emptyFor(next), segments, i + 1, item, copy);
    });
    return arr;
  }
  if (typeof seg === 'number') {
    const arr = Array.isArray(container) ? (copy ? [...container] : container) : [];
    const index = seg < 0 ? Math.max(0, arr.length + seg) : seg;
    arr[index] = setAt(arr[index] ?? emptyFor(next), segments, i + 1, value, copy);
    return arr;
  }
  const obj = (container !== null && typeof container === 'object' && !Array.isArray(container)
    ? copy
      ? { ...(container as object) }
      : container
    : {}) as Record<string, unknown>;
  obj[seg] = setAt(obj[seg] ?? emptyFor(next), segments, i + 1, value, copy);
  return obj;
}

export function compilePath(source: string): CompiledPath {
  return fromSegments(source, parsePath(source));
}

function fromSegments(source: string, segments: Segment[]): CompiledPath {
  const many = segments.includes(EACH);
  // Fast paths for the most common shapes: top level and one plain key.
  let get: (root: unknown) => unknown;
  if (segments.length === 0) get = (root) => root;
  else if (segments.length === 1 && typeof segments[0] === 'string') {
    const key = segments[0];
    get = (root) => (root !== null && typeof root === 'object' && Object.hasOwn(root, key) ? (root as Record<string, unknown>)[key] : undefined);
  } else get = (root) => getAt(root, segments, 0);
  return {
    source,
    segments,
    many,
    get,
    set: (root, value) => setAt(root, segments, 0, value, false),
    replace: (root, value) => setAt(root, segments, 0, value, true),
  };
}

/** The path of an array itself: a trailing `[]` (or Cyclr `[records]`) is dropped. */
export function compileArrayPath(source: string): CompiledPath {
  const segments = parsePath(source);
  while (segments.at(-1) === EACH) segments.pop();
  return fromSegments(source, segments);
}
