// Shared output of the benchmarks: a short table, the verdicts, and the machine it ran on.
import { cpus, totalmem } from 'node:os'

export function machine(): string {
  const c = cpus()
  return `machine: ${c.length} × ${c[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
}

export function report(name: string, r: { setup: string; rows: string[][]; verdicts: Array<[string, boolean]> }): void {
  console.log(`\n== bench ${name}: ${r.setup}`)
  for (const row of r.rows) console.log('  ' + row.join('  |  '))
  for (const [text, ok] of r.verdicts) console.log(`  ${ok ? 'PASS' : 'MISS'}  ${text}`)
}
