// One paging run: hands out the variables of each page and decides, from the page just read,
// whether and how to ask for the next one. Never loops forever: repeated requests and maxPages
// stop it with a warning.
import type { RuntimeWarning } from '../errors.js';
import type { PagingPlan } from './paging-plan.js';
import type { PageResponse } from './response-reader.js';
import { STOP_CONDITIONS } from './stop-conditions.js';
import type { StopContext } from './stop-conditions.js';

export interface PageState {
  pageNumber: number;
  offset: number;
  /** PAGE_NUMBER, PAGE_OFFSET, PAGE_SIZE, PAGE_NEXT_URL, PAGE_TOKEN*: merged into templates. */
  vars: Record<string, string>;
  /** Set when the next request goes to a URL read from the previous page. */
  nextUrl?: string;
}

const toNumber = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

const toBool = (v: unknown): boolean | undefined =>
  typeof v === 'boolean' ? v : v === 'true' || v === 1 || v === '1' ? true : v === 'false' || v === 0 || v === '0' ? false : undefined;

export class Paginator {
  readonly warnings: RuntimeWarning[] = [];
  readonly #plan: PagingPlan;
  readonly #maxPages: number;
  #largest = 0;
  #records = 0;
  // Only cursor/next-URL paging can repeat itself; counting paging always moves on.
  readonly #seen = new Set<string>();
  #lastFingerprint?: string;
  /** True when the last page repeated the one before (an API ignoring the page parameter): drop it. */
  discardLast = false;

  constructor(plan: PagingPlan, maxPages?: number) {
    this.#plan = plan;
    this.#maxPages = maxPages ?? plan.maxPages;
  }

  first(): PageState {
    return { pageNumber: 1, offset: 0, vars: this.#vars(1, 0) };
  }

  #vars(pageNumber: number, offset: number): Record<string, string> {
    return { PAGE_NUMBER: String(pageNumber), PAGE_OFFSET: String(offset), PAGE_SIZE: String(this.#plan.pageSize) };
  }

  /** The next page's state, or undefined when paging is over. */
  next(state: PageState, page: PageResponse): PageState | undefined {
    const plan = this.#plan;
    if (!plan.enabled) return undefined;
    this.#records += page.recordCount;

    const ctx: StopContext = {
      plan,
      pageNumber: state.pageNumber,
      count: page.recordCount,
      largestBefore: this.#largest,
      recordsSoFar: this.#records,
      total: plan.totalCount ? toNumber(plan.totalCount.get(page.body)) : undefined,
      hasMore: plan.hasMore ? toBool(plan.hasMore.get(page.body)) : undefined,
      tokens: plan.tokens.map((t) => [t.variable, t.read(page)]),
    };
    if (plan.nextUrl) this.#resolveNextUrl(plan.nextUrl(page), page.requestUrl, ctx);
    this.#largest = Math.max(this.#largest, page.recordCount);

    // Counting paging against an API that ignores the page parameter returns the same page
    // forever; the short-page rule cannot see it when that page is short, so compare pages.
    if (plan.increments && page.recordCount > 0) {
      const fingerprint = JSON.stringify([page.firstRecord, page.lastRecord]);
      if (fingerprint === this.#lastFingerprint) {
        this.#records -= page.recordCount;
        this.discardLast = true;
        this.warnings.push({
          code: 'PAGING_REPEATED',
          message: `paging stopped: page ${state.pageNumber} repeated page ${state.pageNumber - 1} (does the API support the page/offset parameter?)`,
        });
        return undefined;
      }
      this.#lastFingerprint = fingerprint;
    }

    for (const condition of STOP_CONDITIONS) {
      const stop = condition(ctx);
      if (stop) {
        if (stop.warning) this.warnings.push(stop.warning);
        return undefined;
      }
    }

    const pageNumber = state.pageNumber + 1;
    // The offset advances by what was received, not by the page size: a server that caps the
    // page size would otherwise make us skip records.
    const offset = state.offset + page.recordCount;
    const next: PageState = { pageNumber, offset, vars: this.#vars(pageNumber, offset) };
    for (const [variable, value] of ctx.tokens) next.vars[variable] = value!;
    if (ctx.nextUrl) {
      next.nextUrl = ctx.nextUrl;
      next.vars.PAGE_NEXT_URL = ctx.nextUrl;
    }

    if (!plan.increments) {
      const key = JSON.stringify([ctx.nextUrl, ctx.tokens]);
      if (this.#seen.size === 0) this.#seen.add(JSON.stringify([state.nextUrl, plan.tokens.map((t) => [t.variable, state.vars[t.variable]])]));
      if (this.#seen.has(key)) {
        this.warnings.push({
          code: 'PAGING_REPEATED',
          message: `paging stopped after page ${state.pageNumber}: the API returned a ${ctx.nextUrl ? 'next URL' : 'cursor'} that was already used`,
        });
        return undefined;
      }
      this.#seen.add(key);
    }
    if (state.pageNumber >= this.#maxPages) {
      this.warnings.push({ code: 'PAGING_MAX_PAGES', message: `paging stopped after ${this.#maxPages} pages (maxPages); more data may be available` });
      return undefined;
    }
    return next;
  }

  #resolveNextUrl(raw: string | undefined, requestUrl: string, ctx: StopContext): void {
    if (raw === undefined || raw.trim() === '') return;
    let url: URL;
    try {
      url = new URL(raw.trim(), requestUrl);
    } catch {
      ctx.nextUrlRejected = 'the next URL is not a valid URL';
      return;
    }
    // Credentials go with every page: never follow a next URL to another origin.
    if (url.origin !== new URL(requestUrl).origin) {
      ctx.nextUrlRejected = `the next URL points to another origin (${url.origin})`;
      return;
    }
    ctx.nextUrl = url.href;
  }
}
