// npm run bench -- NAME: runs bench/NAME.ts's exported run().
import { readdirSync } from 'node:fs'

const name = process.argv[2]
const available = readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.ts') && !['run.ts'].includes(f) && !f.startsWith('_')).map((f) => f.slice(0, -3))
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME\navailable: ${available.join(', ')}`)
  process.exit(2)
}
const mod = (await import(`./${name}.ts`)) as { run?: () => Promise<void> }
if (typeof mod.run !== 'function') {
  console.error(`bench/${name}.ts does not export run()`)
  process.exit(2)
}
await mod.run()
process.exit(0)
