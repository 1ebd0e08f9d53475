// The action events that run once per call, after the last page or chunk: after_action_paging
// and action_condition (the per-request events run in CallSession.request).
import { ScriptFailure } from './action-scripts.js';
import type { ActionRequest, ActionScriptResult, ScriptOutcome } from './action-scripts.js';
import type { CallSession } from './call-session.js';

/** after_action_paging: every page's records (as received) in one array; what the script leaves replaces them. */
export async function afterPaging(
  session: CallSession,
  raw: unknown[],
  request: ActionRequest | undefined,
  outcome: ScriptOutcome,
): Promise<{ changed: boolean; raw: unknown[]; body: unknown }> {
  const scripts = session.scripts!;
  const before = JSON.stringify(raw);
  const lastRun = session.context.vars?.LastSuccessfulRunDate;
  const out = await scripts.afterActionPaging({
    body: raw,
    ...(request ? { request: { headers: request.headers, parameters: request.parameters } } : {}),
    lastSuccessfulRunDate: typeof lastRun === 'string' && lastRun !== '' ? lastRun : null,
    nextLastSuccessfulRunDate: null,
  });
  checkScript('after_action_paging', out.result);
  if (out.nextLastSuccessfulRunDate !== null && out.nextLastSuccessfulRunDate !== undefined && out.nextLastSuccessfulRunDate !== '') {
    outcome.nextLastSuccessfulRunDate = String(out.nextLastSuccessfulRunDate);
  }
  const changed = JSON.stringify(out.body) !== before;
  const records = Array.isArray(out.body) ? out.body : session.method.records.select(out.body);
  return { changed, raw: changed ? records : raw, body: out.body };
}

/** action_condition: the True/False route of the call (the last response body, or after_action_paging's records). */
export async function condition(session: CallSession, body: unknown): Promise<boolean> {
  const out = await session.scripts!.actionCondition(body ?? null);
  checkScript('action_condition', out.result);
  return out.route;
}

function checkScript(event: 'after_action_paging' | 'action_condition', result: ActionScriptResult): void {
  if (result.kind === 'error') throw new ScriptFailure(event, result.error);
  if (result.kind === 'auth_refresh' || result.kind === 'auth_session') {
    throw new ScriptFailure(event, { code: 'SCRIPT_ERROR', message: `${result.kind === 'auth_refresh' ? 'AuthRefreshException' : 'AuthSessionException'} is only handled in before_action, after_action and after_error` });
  }
}
