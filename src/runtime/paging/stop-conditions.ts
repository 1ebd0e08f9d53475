// When inbound paging ends. Each condition looks at the page just read and either lets paging go
// on or stops it (with a warning when the stop is a guard, not the natural end of the data).
import type { RuntimeWarning } from '../errors.js';
import type { PagingPlan } from './paging-plan.js';

export interface StopContext {
  plan: PagingPlan;
  pageNumber: number;
  /** Raw records on this page. */
  count: number;
  /** Largest page seen before this one (0 on the first page). */
  largestBefore: number;
  /** Records read so far, this page included. */
  recordsSoFar: number;
  total?: number;
  hasMore?: boolean;
  /** Resolved next URL; `nextUrlRejected` says why a present one is unusable. */
  nextUrl?: string;
  nextUrlRejected?: string;
  tokens: ReadonlyArray<[string, string | undefined]>;
}

export interface Stop {
  reason: string;
  warning?: RuntimeWarning;
}

export type StopCondition = (ctx: StopContext) => Stop | undefined;

/** Counting paging: an empty page is the end. */
const emptyPage: StopCondition = (c) => (c.plan.increments && c.count === 0 ? { reason: 'empty page' } : undefined);

/**
 * Counting paging: a short page is the end only when it is shorter than both the requested size
 * and the largest page already seen. A server that caps the page size (asked 100, sends 50) sends
 * the same short size every time, so its pages never look like the last one and no record is
 * lost; the cost is one extra request (answered by an empty page) when the first page is short.
 */
const shortPage: StopCondition = (c) =>
  c.plan.increments && c.count < c.plan.pageSize && c.count < c.largestBefore ? { reason: 'short page' } : undefined;

const totalReached: StopCondition = (c) =>
  c.total !== undefined && c.recordsSoFar >= c.total ? { reason: `all ${c.total} records read` } : undefined;

const noMore: StopCondition = (c) => (c.hasMore === false ? { reason: 'no more pages' } : undefined);

const nextUrlMissing: StopCondition = (c) => {
  if (!c.plan.nextUrl) return undefined;
  if (c.nextUrlRejected) {
    return { reason: 'next URL rejected', warning: { code: 'PAGING_NEXT_URL_REJECTED', message: `paging stopped: ${c.nextUrlRejected}` } };
  }
  return c.nextUrl ? undefined : { reason: 'no next URL' };
};

/** Cursors: every token must be present and non-empty for another page. */
const tokenMissing: StopCondition = (c) =>
  c.tokens.some(([, v]) => v === undefined || v === '') ? { reason: 'no cursor' } : undefined;

/** Natural ends, in order; guards (repetition, maxPages) are applied by the paginator after these. */
export const STOP_CONDITIONS: readonly StopCondition[] = [emptyPage, shortPage, totalReached, noMore, nextUrlMissing, tokenMissing];
