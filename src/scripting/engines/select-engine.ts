// Chooses the sandbox engine at start-up. isolated-vm is a native addon built for one Node major:
// 5.x on Node 18-21 (what these machines run), 6.x on 22-23, 7.x on 24+. Both `isolated-vm` and
// `isolated-vm-7` (an npm alias) are optional dependencies; whichever is installed, matches this
// Node and really runs an isolate in a sandbox process wins. Otherwise the QuickJS wasm engine runs
// the scripts.
import { createRequire } from 'node:module';
import { IsolatedVmEngine, smokeTestIsolatedVm } from './isolated-vm-engine.js';
import { QuickJsEngine } from './quickjs-engine.js';
import type { EngineName, EngineOptions, SandboxEngine } from './engine.js';

const require = createRequire(import.meta.url);

export const ISOLATED_VM_MODULES = ['isolated-vm', 'isolated-vm-7'] as const;

/** isolated-vm major → Node majors it builds and runs on. */
const IVM_NODE_MAJORS: Record<number, (node: number) => boolean> = {
  4: (n) => n >= 16 && n <= 20,
  5: (n) => n >= 18 && n <= 21,
  6: (n) => n >= 22 && n <= 23,
  7: (n) => n >= 24,
};

export interface EngineCandidate {
  module: string;
  version?: string;
  usable: boolean;
  reason: string;
}

const nodeMajor = () => Number(process.versions.node.split('.')[0]);

function packageVersion(module: string): string | undefined {
  try {
    return (require(`${module}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Tries one isolated-vm module: installed, made for this Node, and an isolate really runs in a
 * sandbox process (started with --no-node-snapshot, which isolated-vm needs on Node >= 20).
 */
export function probeIsolatedVm(module: string): Promise<EngineCandidate> {
  // Once per process: the answer cannot change while it runs.
  let probe = probes.get(module);
  if (!probe) probes.set(module, (probe = probeOnce(module)));
  return probe;
}

const probes = new Map<string, Promise<EngineCandidate>>();

async function probeOnce(module: string): Promise<EngineCandidate> {
  const version = packageVersion(module);
  if (!version) return { module, usable: false, reason: `${module} is not installed` };
  const major = Number(version.split('.')[0]);
  const node = nodeMajor();
  if (!IVM_NODE_MAJORS[major]?.(node)) return { module, version, usable: false, reason: `${module} ${version} does not support Node ${node}` };
  const failure = await smokeTestIsolatedVm(module);
  if (failure) return { module, version, usable: false, reason: `${module} ${version} does not run here: ${failure.slice(0, 300)}` };
  return { module, version, usable: true, reason: `${module} ${version} on Node ${process.versions.node}` };
}

export interface SelectOptions extends EngineOptions {
  /** `auto` (default): isolated-vm when usable, else quickjs. Naming an engine makes it mandatory. */
  engine?: 'auto' | EngineName;
}

export async function selectEngine(options: SelectOptions): Promise<SandboxEngine> {
  const wanted = options.engine ?? 'auto';
  const skipped: string[] = [];
  if (wanted !== 'quickjs') {
    for (const module of ISOLATED_VM_MODULES) {
      const probe = await probeIsolatedVm(module);
      if (probe.usable) {
        const why = skipped.length ? ` (${skipped.join('; ')})` : '';
        return new IsolatedVmEngine(module, { name: 'isolated-vm', version: probe.version!, module, reason: probe.reason + why }, options);
      }
      skipped.push(probe.reason);
    }
    if (wanted === 'isolated-vm') throw new Error(`isolated-vm is not usable here: ${skipped.join('; ')}`);
  }
  const version = packageVersion('quickjs-emscripten') ?? 'unknown';
  const reason = wanted === 'quickjs' ? 'quickjs requested' : `wasm fallback: ${skipped.join('; ')}`;
  return new QuickJsEngine({ name: 'quickjs', version, module: 'quickjs-emscripten', reason }, options);
}
