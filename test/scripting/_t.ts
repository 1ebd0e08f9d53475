import { createScriptRunner } from '../../src/scripting/script-runner.js';
const r = await createScriptRunner({ engine: 'isolated-vm', logger: null });
console.log(JSON.stringify(await r.runEvent({ event: 'after_action', isolationKey: 'x', sources: { connector: 'function after_action() { return true }', step: 'function after_action() {\n  return method_response +;\n}' }, globals: {} })));
await r.dispose();
