// Regenerates docs/errors.md from the error catalogue (a test checks every code is listed).
import { writeFileSync } from 'node:fs'
import { ERROR_CODES } from '../src/errors/errors.js'

const rows = Object.entries(ERROR_CODES).map(([code, [status, meaning]]) => `| \`${code}\` | ${status} | ${meaning} |`)
const doc = `# Error codes

Every error response has the shape \`{"error": {"code", "message", "details?"}}\`. \`message\` is
written for people; \`code\` is stable for programs. \`details\` carries the list of problems
(\`{path, message}\`) for validation errors and the breaking changes for \`BREAKING_MINOR\`.

| code | status | meaning |
|---|---|---|
${rows.join('\n')}

Another partner's object is always \`NOT_FOUND\` (404), never a 403 that would reveal it exists.
`
writeFileSync(new URL('../docs/errors.md', import.meta.url), doc)
