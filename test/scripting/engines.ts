// Every script test runs once per available engine: isolated-vm where it loads on this Node, and
// the QuickJS wasm fallback always. Runners are shared within a test file and disposed at its end.
import { after } from 'node:test';
import { createScriptRunner } from '../../src/scripting/script-runner.js';
import type { ScriptRunner, ScriptRunnerOptions } from '../../src/scripting/script-runner.js';
import { ISOLATED_VM_MODULES, probeIsolatedVm } from '../../src/scripting/engines/select-engine.js';
import type { EngineName } from '../../src/scripting/engines/engine.js';

export async function availableEngines(): Promise<EngineName[]> {
  const engines: EngineName[] = [];
  for (const m of ISOLATED_VM_MODULES) {
    if ((await probeIsolatedVm(m)).usable) {
      engines.push('isolated-vm');
      break;
    }
  }
  engines.push('quickjs');
  return engines;
}

/** The engine `auto` picks on this Node (as selectEngine does), in one line. */
export async function chosenEngineLine(): Promise<string> {
  const skipped: string[] = [];
  for (const m of ISOLATED_VM_MODULES) {
    const probe = await probeIsolatedVm(m);
    if (probe.usable) return `isolated-vm ${probe.version} (${[probe.reason, ...skipped].join('; ')})`;
    skipped.push(probe.reason);
  }
  return `quickjs (wasm fallback: ${skipped.join('; ')})`;
}

export const ENGINES = await availableEngines();
// One line per test file in the runner's output (`# scripting engine: …` under TAP); CI prints it.
console.log(`scripting engine: ${await chosenEngineLine()}; tests run on ${ENGINES.join(', ')}`);

const created: ScriptRunner[] = [];
const shared = new Map<EngineName, Promise<ScriptRunner>>();

after(async () => {
  await Promise.all([...created.map((r) => r.dispose()), ...[...shared.values()].map(async (p) => (await p).dispose())]);
});

/** The file's shared runner of an engine (default options). */
export function runnerFor(engine: EngineName): Promise<ScriptRunner> {
  let r = shared.get(engine);
  if (!r) {
    r = createScriptRunner({ engine, logger: null, sandboxes: 1 });
    shared.set(engine, r);
  }
  return r;
}

/** A runner with its own options, disposed with the file. */
export async function createRunner(engine: EngineName, options: Omit<ScriptRunnerOptions, 'engine'> = {}): Promise<ScriptRunner> {
  const r = await createScriptRunner({ logger: null, sandboxes: 1, ...options, engine });
  created.push(r);
  return r;
}

let keys = 0;
/** A fresh isolation key (a fresh context), so tests do not share sandbox state unless they mean to. */
export const freshKey = (label = 'test') => `${label}/${++keys}/${process.pid}`;
