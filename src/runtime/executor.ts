// Executes a compiled method. `executeMethod` streams pages (one request in flight, nothing kept
// after a page is handed over, so memory stays flat); `runMethod` collects a whole run for
// callers that need everything (the "test a method" endpoint, small lookups).
import { performance } from 'node:perf_hooks';
import { CallSession } from './call-session.js';
import type { MethodContext } from './call-session.js';
import { Paginator } from './paging/paginator.js';
import { sendOutbound } from './outbound-paging.js';
import type { OutboundChunk } from './outbound-paging.js';
import type { RuntimeWarning } from './errors.js';
import type { ExchangeLog } from './exchange.js';
import type { RedactedRequestLog, ResponseLog } from './redaction.js';
import type { RecordValue } from './record-selector.js';
import type { CompiledConnector } from './compile.js';
import type { PageState } from './paging/paginator.js';
import { splitRequestUrl } from './action-scripts.js';
import type { ActionRequest, ScriptOutcome } from './action-scripts.js';
import { afterPaging, condition } from './script-events.js';

export type { MethodContext } from './call-session.js';

export interface MethodPage {
  pageNumber: number;
  /** Records of this page: declared response fields coerced (`{SystemName: value}`), or as received. */
  records: RecordValue[];
  /** The parsed response body of this page (what an after_action script sees). */
  body: unknown;
  request: RedactedRequestLog;
  response: ResponseLog;
  /** Request (including a token refresh/retry) plus parsing and coercion. */
  durationMs: number;
  /** The state of the following page (undefined on the last one): resume there with `ctx.startAt`. */
  next?: PageState;
}

export interface MethodExecution extends AsyncIterable<MethodPage> {
  /** Paging warnings (maxPages reached, repeated cursor…); complete once iteration ends. */
  readonly warnings: readonly RuntimeWarning[];
}

/**
 * Streams the pages of an inbound call. Input errors, 4xx/5xx (`MethodCallError`), transport
 * errors (`HttpCallError`), parse and coercion errors are thrown from the iteration.
 */
export function executeMethod(compiled: CompiledConnector, methodId: string, ctx: MethodContext): MethodExecution {
  const warnings: RuntimeWarning[] = [];
  async function* pages(): AsyncGenerator<MethodPage> {
    const session = new CallSession(compiled, methodId, ctx);
    const { method, scripts } = session;
    const paginator = new Paginator(method.paging, ctx.maxPages);
    const outcome: ScriptOutcome = { warnings: [] };
    // after_action_paging sees every page's records at once: pages are held back until it ran.
    const held: MethodPage[] | undefined = scripts?.handles('after_action_paging') ? [] : undefined;
    const wantsCondition = scripts?.handles('action_condition') ?? false;
    const heldRaw: unknown[] = [];
    let lastBody: unknown;
    let lastRequest: ActionRequest | undefined;
    let state = ctx.startAt ?? paginator.first();
    let recordIndex = 0;
    try {
      for (;;) {
        const pageStarted = performance.now();
        const got = await session.request(state);
        if (got.kind === 'skipped') {
          outcome.warnings.push(got.warning);
          warnings.push(got.warning);
          break;
        }
        const { sent, body } = got;
        if (held || wantsCondition) {
          lastBody = body;
          lastRequest = { ...splitRequestUrl(sent.built.url), headers: sent.built.headers };
        }
        const raw = method.records.select(body);
        const next = paginator.next(state, {
          body,
          headers: got.headers,
          requestUrl: sent.built.url,
          recordCount: raw.length,
          // Values, not a closure: a closure over `raw` would keep every page's records alive
          // longer and push them into the old generation (measured: 3x the CPU per page in GC).
          firstRecord: raw[0],
          lastRecord: raw[raw.length - 1],
        });
        if (paginator.discardLast) break;
        const records = method.records.shape(raw, recordIndex, ctx.includeRaw);
        recordIndex += raw.length;
        const { log } = sent;
        const page: MethodPage = {
          pageNumber: state.pageNumber,
          records,
          body,
          // Redacted logs are built when read: a consumer that does not log pays nothing.
          get request() {
            return log.request;
          },
          get response() {
            return log.response;
          },
          durationMs: performance.now() - pageStarted,
          next,
        };
        if (held) {
          held.push(page);
          for (const r of raw) heldRaw.push(r);
        } else yield page;
        if (!next) break;
        state = next;
      }
      let combined: MethodPage | undefined;
      if (held) {
        const out = await afterPaging(session, heldRaw, lastRequest, outcome);
        if (out.changed) lastBody = out.body;
        // The held pages are handed over as one page holding every record (the script's records
        // when it changed them), with the last page's logs and next state.
        const last = held[held.length - 1];
        if (last) {
          combined = {
            pageNumber: held[0]!.pageNumber,
            records: out.changed ? method.records.shape(out.raw, 0, ctx.includeRaw) : held.flatMap((p) => p.records),
            body: out.changed ? out.body : last.body,
            get request() {
              return last.request;
            },
            get response() {
              return last.response;
            },
            durationMs: held.reduce((sum, p) => sum + p.durationMs, 0),
            next: last.next,
          };
        }
      }
      if (wantsCondition) outcome.route = await condition(session, lastBody);
      if (combined) yield combined;
    } finally {
      warnings.push(...paginator.warnings);
      if (scripts) ctx.onScriptOutcome?.(outcome);
    }
  }
  return { warnings, [Symbol.asyncIterator]: () => pages() };
}

export interface MethodRunResult {
  ok: boolean;
  records: RecordValue[];
  pages: number;
  /** Every HTTP exchange in order, token requests included; redacted. */
  requests: ExchangeLog[];
  warnings: RuntimeWarning[];
  timings: { totalMs: number; perRequest: number[] };
  /** Outbound paging: which items each request carried and how it went. */
  chunks?: OutboundChunk[];
  /** The error that ended the run (typed: MethodCallError, HttpCallError, FieldCoercionError…). */
  error?: unknown;
}

/** Runs a method to the end and collects everything; call errors end up in `error`, not thrown. */
export async function runMethod(compiled: CompiledConnector, methodId: string, ctx: MethodContext): Promise<MethodRunResult> {
  const method = compiled.method(methodId); // unknown method: NOT_FOUND is thrown
  const started = performance.now();
  const requests: ExchangeLog[] = [];
  const observed: MethodContext = {
    ...ctx,
    onRequest: (log) => {
      requests.push(log);
      ctx.onRequest?.(log);
    },
  };
  const result: MethodRunResult = { ok: true, records: [], pages: 0, requests, warnings: [], timings: { totalMs: 0, perRequest: [] } };
  try {
    if (method.outbound) {
      const out = await sendOutbound(compiled, methodId, observed);
      result.chunks = out.chunks;
      result.records = out.records;
      result.warnings.push(...out.warnings);
      result.pages = out.chunks.length;
      result.ok = out.chunks.every((c) => c.ok);
      const failed = out.chunks.find((c) => !c.ok);
      if (failed) result.error = failed.cause;
    } else {
      const execution = executeMethod(compiled, methodId, observed);
      try {
        for await (const page of execution) {
          result.pages++;
          for (const r of page.records) result.records.push(r);
        }
      } finally {
        result.warnings.push(...execution.warnings);
      }
    }
  } catch (err) {
    result.ok = false;
    result.error = err;
  }
  result.timings = { totalMs: performance.now() - started, perRequest: requests.map((r) => r.durationMs) };
  return result;
}
