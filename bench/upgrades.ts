// npm run bench -- upgrades (issue 8): 10 000 template steps and 100 000 cycle steps on one connector.
// Targets: a major push costs ≤ 2× the push with no steps; a cycle's updateAvailable read < 5 ms;
// a bulk upgrade of 10 000 cycles (dry run and apply) ≥ 1 000 cycles/s (planned from one query, written
// 500 cycles per database transaction; see src/services/upgrades.ts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createServices } from '../src/services/services.js'
import { newId } from '../src/shared/ids.js'
import { machine, report } from './_report.js'

const TEMPLATES = 1_000
const CYCLES = 10_000
const STEPS = 10 // per template and cycle: 10 000 template steps, 100 000 cycle steps

const definition = (extra: number) => ({
  baseUrl: 'https://crm.example.com/api',
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'list-contacts', name: 'List Contacts', type: 'action', http: { method: 'GET', path: '/contacts' }, records: 'data', response: { fields: [{ location: 'email', field: 'Email', type: 'text' }] } },
    {
      id: 'create-contact',
      name: 'Create Contact',
      type: 'action',
      http: { method: 'POST', path: '/contacts' },
      request: { format: 'json', fields: [{ location: 'email', field: 'Email', type: 'text' }, ...Array.from({ length: extra }, (_, i) => ({ location: `x${i}`, field: `X${i}`, type: 'text', optional: true }))] },
      response: { fields: [{ location: 'id', field: 'ContactId', type: 'text' }] },
    },
  ],
})

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-upgrades-'))
  const services = await createServices({ databaseUrl: `sqlite:${join(dir, 'bench.db')}`, adminToken: 'bench-admin' })
  try {
    const { partner, keyId } = await services.partners.create({ name: 'Bench' })
    const actor = { partnerId: partner.id, keyId }
    const account = await services.accounts.create(actor, { name: 'Globex', externalId: 'globex' } as never)
    const pushNew = async (cid: string, n: number) => {
      const d = await services.releases.createDraft(actor, cid, { settings: { status: 'Approved' }, definition: definition(n) })
      const t0 = performance.now()
      const r = await services.releases.push(actor, cid, d.id, { kind: 'major' })
      return { ms: performance.now() - t0, release: r }
    }
    const empty = await services.connectors.create(actor, { name: 'Empty' })
    const used = await services.connectors.create(actor, { name: 'Used' })
    await pushNew(empty.id, 0)
    const v1 = (await pushNew(used.id, 0)).release

    // seed: rows written directly, in batches
    const db = services.store.db
    const at = new Date().toISOString()
    const config = (i: number) => JSON.stringify(i === 0 ? {} : { fields: { Email: { type: 'step', step: 's0', field: 'Email' } } })
    const t0 = performance.now()
    await db.transaction().execute(async (tx) => {
      for (let t = 0; t < TEMPLATES; t++) {
        const id = `tpl_bench_${t}`
        await tx.insertInto('templates').values({ id, partner_id: partner.id, name: `T${t}`, description: null, settings: '{}', created_at: at, updated_at: at }).execute()
        await tx.insertInto('template_steps').values(Array.from({ length: STEPS }, (_, i) => ({ id: newId('tst'), template_id: id, partner_id: partner.id, step_key: `s${i}`, position: i, type: i === 0 ? 'trigger' : 'action', connector_id: used.id, release_id: v1.id, method_id: i === 0 ? 'list-contacts' : 'create-contact', config: config(i) }))).execute()
      }
      for (let c = 0; c < CYCLES; c++) {
        const id = `cyc_bench_${c}`
        await tx.insertInto('cycles').values({ id, partner_id: partner.id, account_id: account.id, template_id: `tpl_bench_${c % TEMPLATES}`, name: `C${c}`, status: 'paused', status_reason: null, interval_minutes: null, start_at: null, run_once: 0, settings: '{}', activated_at: null, created_at: at, updated_at: at }).execute()
        await tx.insertInto('cycle_steps').values(Array.from({ length: STEPS }, (_, i) => ({ id: newId('cst'), cycle_id: id, partner_id: partner.id, step_key: `s${i}`, position: i, type: i === 0 ? 'trigger' : 'action', connector_id: used.id, release_id: v1.id, method_id: i === 0 ? 'list-contacts' : 'create-contact', account_connector_id: null, config: config(i), user_values: '{}', last_successful_run_at: null }))).execute()
      }
    })
    const seedMs = performance.now() - t0

    const emptyPush: number[] = []
    const usedPush: number[] = []
    for (let i = 1; i <= 5; i++) {
      emptyPush.push((await pushNew(empty.id, i)).ms)
      usedPush.push((await pushNew(used.id, i)).ms)
    }
    const ratio = median(usedPush) / median(emptyPush)

    // a cycle's read with updateAvailable (pins of an older major)
    const reads: number[] = []
    for (let i = 0; i < 200; i++) {
      const t = performance.now()
      const view = await services.cycles.get(partner.id, account.id, `cyc_bench_${i}`)
      reads.push(performance.now() - t)
      if (i === 0 && !view.steps.every((s) => s.updateAvailable)) throw new Error('expected updateAvailable on every step')
    }
    const readMs = median(reads)

    const t1 = performance.now()
    const dry = await services.upgrades.upgradeConnector(actor, used.id, { dryRun: true, scope: 'cycles' })
    const dryS = (performance.now() - t1) / 1000
    const t2 = performance.now()
    const applied = await services.upgrades.upgradeConnector(actor, used.id, { scope: 'cycles' })
    const applyS = (performance.now() - t2) / 1000
    if (dry.cycles.length !== CYCLES || applied.summary.cycles.upgraded !== CYCLES) throw new Error(`bulk upgrade moved ${applied.summary.cycles.upgraded} of ${CYCLES}`)
    // spot checks: the first and last cycles are on the live release now, and every cycle has its history row
    for (const id of ['cyc_bench_0', `cyc_bench_${CYCLES - 1}`]) {
      const view = await services.cycles.get(partner.id, account.id, id)
      if (view.steps.some((s) => s.updateAvailable || s.release?.id !== applied.to.releaseId)) throw new Error(`cycle ${id} was not upgraded`)
    }
    const recorded = await db.selectFrom('connector_history').select((eb) => eb.fn.countAll().as('n')).where('connector_id', '=', used.id).where('event', '=', 'upgraded').executeTakeFirstOrThrow()
    if (Number(recorded.n) !== CYCLES) throw new Error(`expected ${CYCLES} upgraded history rows, got ${recorded.n}`)
    const dryRate = CYCLES / dryS
    const applyRate = CYCLES / applyS

    report('upgrades', {
      setup: `SQLite file; ${TEMPLATES * STEPS} template steps and ${CYCLES * STEPS} cycle steps on one connector (seeded in ${(seedMs / 1000).toFixed(1)} s); ${machine()}`,
      rows: [
        ['major push, no steps (median of 5)', `${median(emptyPush).toFixed(1)} ms`],
        ['major push, 110 000 steps (median of 5)', `${median(usedPush).toFixed(1)} ms`, `ratio ${ratio.toFixed(2)}`],
        ['cycle read with updateAvailable (median of 200)', `${readMs.toFixed(2)} ms`],
        [`bulk upgrade of ${CYCLES} cycles, dry run`, `${dryS.toFixed(2)} s`, `${Math.round(dryRate)} cycles/s`],
        [`bulk upgrade of ${CYCLES} cycles, apply`, `${applyS.toFixed(2)} s`, `${Math.round(applyRate)} cycles/s`],
      ],
      verdicts: [
        [`major push ≤ 2× the push with no steps (${ratio.toFixed(2)}×)`, ratio <= 2],
        [`cycle updateAvailable read < 5 ms (${readMs.toFixed(2)} ms)`, readMs < 5],
        [`bulk dry run ≥ 1 000 cycles/s (${Math.round(dryRate)})`, dryRate >= 1000],
        [`bulk apply ≥ 1 000 cycles/s (${Math.round(applyRate)})`, applyRate >= 1000],
      ],
    })
  } finally {
    await services.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
