// What Cyclr carries between the events of one method call: `method_request_mergefields` (from
// before_action to after_action, page after page) and `action_data` (before_action, after_action,
// after_action_paging, action_condition, after_error — for the whole transaction step). The
// executor keeps one ScriptCallState per call and hands it to every event; `script_parameters` and
// `cycle_variables` are not part of it (their changes are never kept).
import { EVENT_SPECS } from './events.js';
import type { ScriptEvent, ScriptGlobals } from './events.js';

export interface ScriptCallStateJson {
  mergefields: Record<string, unknown>;
  actionData: unknown;
}

export class ScriptCallState {
  mergefields: Record<string, unknown>;
  actionData: unknown;

  constructor(init: Partial<ScriptCallStateJson> = {}) {
    this.mergefields = init.mergefields ?? {};
    this.actionData = init.actionData ?? {};
  }

  /** The carried globals the event sees. */
  globalsFor(event: ScriptEvent): ScriptGlobals {
    const spec = EVENT_SPECS[event];
    const out: ScriptGlobals = {};
    if (spec.globals.has('method_request_mergefields')) out.method_request_mergefields = this.mergefields;
    if (spec.globals.has('action_data')) out.action_data = this.actionData;
    return out;
  }

  /** Takes the carried globals back from an event's result. */
  absorb(globals: ScriptGlobals): void {
    if (globals.method_request_mergefields !== undefined && globals.method_request_mergefields !== null && typeof globals.method_request_mergefields === 'object') {
      this.mergefields = globals.method_request_mergefields;
    }
    if (globals.action_data !== undefined) this.actionData = globals.action_data;
  }

  /** For a transaction that continues in another job. */
  toJSON(): ScriptCallStateJson {
    return { mergefields: this.mergefields, actionData: this.actionData };
  }

  static fromJSON(json: Partial<ScriptCallStateJson> | undefined): ScriptCallState {
    return new ScriptCallState(json ?? {});
  }
}
