// Secrets and scripts: known secret values (auth values, sensitive parameters, tokens) are masked
// in the JSON a script receives, so a script never sees them except `method_auth_value` in
// before_action; they are redacted from script error messages and logs. Masking replaces each
// secret (and its base64 / URL-encoded forms) with a numbered placeholder `[REDACTED:n]`; for a
// before_action whose request still goes to the same origin, the placeholders left in the request
// are put back, so a request the script did not touch is sent with its credentials intact.
import { redact } from '../runtime/http/errors.js';

/** Secrets shorter than this are not masked in data (they would match ordinary text); they are still redacted from messages. */
export const MIN_MASKED_SECRET_CHARS = 4;

const PLACEHOLDER = /\[REDACTED:(\d+)\]/g;

function forms(secret: string): string[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const b64 = utf8.toString('base64');
  return [secret, b64, b64.replace(/=+$/, ''), utf8.toString('base64url'), encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, '+')];
}

type Needle = Readonly<{ needle: string; placeholder: string }>;
/** Needles by secret list (bounded; they are only held in memory, as the secrets are). */
const NEEDLES = new Map<string, ReadonlyArray<Needle>>();
const MAX_CACHED = 1_000;

// The text of a string as it appears between the quotes of JSON.stringify's output.
const jsonInner = (s: string) => JSON.stringify(s).slice(1, -1);

export class SecretMasker {
  readonly secrets: readonly string[];
  /** JSON-escaped forms, longest first, each with its placeholder. */
  readonly #needles: ReadonlyArray<Needle>;

  constructor(secrets: readonly string[] = []) {
    this.secrets = secrets.filter((s) => typeof s === 'string' && s.length > 0);
    // The same secrets come with every call of an account connector: their needles are made once.
    const key = JSON.stringify(this.secrets);
    const known = NEEDLES.get(key);
    if (known) {
      this.#needles = known;
      return;
    }
    const seen = new Set<string>();
    const needles: string[] = [];
    for (const s of this.secrets) {
      if (s.length < MIN_MASKED_SECRET_CHARS) continue;
      for (const f of forms(s)) {
        const n = jsonInner(f);
        // A form with an escaped quote or backslash could match across a string boundary.
        if (n.length >= MIN_MASKED_SECRET_CHARS && !n.includes('\\') && !seen.has(n)) {
          seen.add(n);
          needles.push(n);
        }
      }
    }
    needles.sort((a, b) => b.length - a.length);
    this.#needles = needles.map((needle, i) => Object.freeze({ needle, placeholder: `[REDACTED:${i}]` }));
    Object.freeze(this.#needles);
    if (NEEDLES.size >= MAX_CACHED) NEEDLES.delete(NEEDLES.keys().next().value!);
    NEEDLES.set(key, this.#needles);
  }

  get empty(): boolean {
    return this.#needles.length === 0;
  }

  /** Masks every secret form in a JSON text (a needle never contains a quote, so the JSON stays valid). */
  mask(json: string): string {
    let out = json;
    for (const { needle, placeholder } of this.#needles) {
      if (out.includes(needle)) out = out.split(needle).join(placeholder);
    }
    return out;
  }

  /** Puts the secrets back in place of their placeholders (JSON text in, JSON text out). */
  unmask(json: string): string {
    if (!json.includes('[REDACTED:')) return json;
    return json.replace(PLACEHOLDER, (whole, n: string) => this.#needles[Number(n)]?.needle ?? whole);
  }

  /** For messages and logs: every form of every secret becomes [REDACTED]. */
  redact(text: string): string {
    return this.secrets.length === 0 ? text : redact(text, this.secrets);
  }
}
