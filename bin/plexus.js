#!/usr/bin/env node
// The `plexus` command: registers tsx, then runs the TypeScript CLI (src/cli/index.ts).
import { register } from 'tsx/esm/api'

register()
const { run } = await import('../src/cli/index.ts')
await run()
