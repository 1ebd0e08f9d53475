// Test databases: SQLite always (a real file), PostgreSQL when PLEXUS_TEST_DATABASE_URL is set.
// Each PostgreSQL use gets its own schema, dropped afterwards, so runs never see each other.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { randomBytes } from 'node:crypto'

export interface TestDatabase {
  name: 'sqlite' | 'postgres'
  url: string
  schema?: string
  cleanup(): Promise<void>
}

export function dialects(): Array<'sqlite' | 'postgres'> {
  return process.env.PLEXUS_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite']
}

export async function createTestDatabase(name: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-test-'))
    return { name, url: `sqlite:${join(dir, 'plexus.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
  }
  const url = process.env.PLEXUS_TEST_DATABASE_URL
  if (!url) throw new Error('PLEXUS_TEST_DATABASE_URL is not set')
  const schema = `t_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`create schema ${schema}`)
  await client.end()
  return {
    name,
    url,
    schema,
    cleanup: async () => {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      await c.query(`drop schema if exists ${schema} cascade`)
      await c.query(`drop schema if exists ${schema}_gw cascade`)
      await c.end()
    },
  }
}
