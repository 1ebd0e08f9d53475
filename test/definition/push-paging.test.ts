import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { assertNoProblems, assertProblem, loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

const m = (id: string) => `/definition/methods/${methodIndex(loadRelease(), id)}`

test('inbound paging needs a page size', () => {
  const r = loadRelease()
  delete r.settings.inboundPageSize
  assertProblem(checkReleaseForPush(r), '/settings/inboundPageSize', 'required when inboundPaging is true')
})

test('outbound paging needs a page size', () => {
  const r = loadRelease()
  delete r.settings.outboundPageSize
  assertProblem(checkReleaseForPush(r), '/settings/outboundPageSize', 'required when outboundPaging is true')
})

test('release-level paging in the definition needs a size, here or in settings', () => {
  const r = loadRelease()
  r.settings = { status: 'Approved' }
  r.definition.paging = { inbound: true, outbound: true }
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/definition/paging/pageSize', 'required when inbound paging is on (here or in settings.inboundPageSize)')
  assertProblem(problems, '/definition/paging/outboundPageSize', 'required when outbound paging is on (here or in settings.outboundPageSize)')
  r.settings = { inboundPageSize: 100, outboundPageSize: 20 }
  assertNoProblems(checkReleaseForPush(r))
})

test('a method turning inbound paging on needs a size from the method, the definition or the settings', () => {
  const r = loadRelease()
  r.settings = { status: 'Approved' }
  method(r, 'list-notes').paging = { inbound: true }
  method(r, 'create-contacts-batch').paging = { outbound: true, outboundLocation: 'inputs', outboundPageSize: 50 }
  assertProblem(checkReleaseForPush(r), `${m('list-notes')}/paging/pageSize`, 'required when inbound paging is on (here, in definition.paging.pageSize or in settings.inboundPageSize)')
  r.definition.paging = { pageSize: 25 }
  assertNoProblems(checkReleaseForPush(r))
  delete r.definition.paging
  method(r, 'list-notes').paging = { inbound: true, pageSize: 10 }
  assertNoProblems(checkReleaseForPush(r))
})

test('a method with outbound paging needs a size and the location of the array', () => {
  const r = loadRelease()
  r.settings = { status: 'Approved' }
  method(r, 'create-contacts-batch').paging = { outbound: true }
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('create-contacts-batch')}/paging/outboundPageSize`, 'required when outbound paging is on')
  assertProblem(problems, `${m('create-contacts-batch')}/paging/outboundLocation`, 'required when outbound paging is on: the request array sent in batches')
})

test('the outbound location and size may come from release-level paging', () => {
  const r = loadRelease()
  r.settings = { status: 'Approved' }
  r.definition.paging = { outboundLocation: 'inputs', outboundPageSize: 100 }
  method(r, 'create-contacts-batch').paging = { outbound: true }
  assertNoProblems(checkReleaseForPush(r))
})

test('a responseField parameter reads a next URL or a cursor, nothing else', () => {
  const r = loadRelease()
  const params = method(r, 'list-notes').parameters!
  params[0].value = '{{PAGE_NUMBER}}'
  params.push({ name: 'Total', target: 'responseField', targetName: 'meta.total' })
  r.definition.parameters!.push({ name: 'Cursor', target: 'responseField', value: 'next {{PAGE_TOKEN}}' })
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('list-notes')}/parameters/0/value`, 'a responseField parameter must be {{PAGE_NEXT_URL}}, {{PAGE_TOKEN}} or {{PAGE_TOKEN_<SUFFIX>}} (got "{{PAGE_NUMBER}}")')
  assertProblem(problems, `${m('list-notes')}/parameters/1/value`, '(no value)')
  assertProblem(problems, '/definition/parameters/2/value', '(got "next {{PAGE_TOKEN}}")')
})

test('PAGE_NEXT_URL is only read, never sent', () => {
  const r = loadRelease()
  method(r, 'list-notes').parameters!.push({ name: 'next', target: 'query', value: '{{PAGE_NEXT_URL}}' })
  method(r, 'list-companies').http!.path = '{{PAGE_NEXT_URL}}'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('list-notes')}/parameters/1/value`, '{{PAGE_NEXT_URL}} can only be the value of a responseField parameter')
  assertProblem(problems, `${m('list-companies')}/http/path`, '{{PAGE_NEXT_URL}} can only be the value of a responseField parameter')
})

test('a cursor read from the response must be sent back', () => {
  const r = loadRelease()
  const params = method(r, 'list-deals').parameters!
  params.splice(params.findIndex((p) => p.name === 'after'), 1)
  assertProblem(checkReleaseForPush(r), `${m('list-deals')}/parameters/2/value`, '{{PAGE_TOKEN}} is read from the response but no query, body or header parameter sends it')
})

test('a cursor sent must be read from the response', () => {
  const r = loadRelease()
  const params = method(r, 'list-deals').parameters!
  params.splice(params.findIndex((p) => p.name === 'NextCursor'), 1)
  assertProblem(checkReleaseForPush(r), `${m('list-deals')}/parameters/2/value`, '{{PAGE_TOKEN}} is sent but no responseField parameter reads it from the response')
})

test('several cursor pairs are matched by suffix', () => {
  const r = loadRelease()
  method(r, 'search-deals').parameters![3].value = '{{PAGE_TOKEN_FILTERS}}'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('search-deals')}/parameters/2/value`, '{{PAGE_TOKEN_FILTER}} is sent but no responseField parameter reads it')
  assertProblem(problems, `${m('search-deals')}/parameters/3/value`, '{{PAGE_TOKEN_FILTERS}} is read from the response but no query, body or header parameter sends it')
  assert.ok(!problems.some((p) => p.message.includes('PAGE_TOKEN_AFTER')), 'the AFTER pair is still consistent')
})

test("a method's cursor does not pair with another method's parameter", () => {
  const r = loadRelease()
  method(r, 'list-notes').parameters!.push({ name: 'after', target: 'query', value: '{{PAGE_TOKEN_AFTER}}' })
  assertProblem(checkReleaseForPush(r), `${m('list-notes')}/parameters/1/value`, '{{PAGE_TOKEN_AFTER}} is sent but no responseField parameter reads it')
})

test('a connector-level cursor reader pairs with method-level senders, and a cursor may travel in the path', () => {
  const r = loadRelease()
  r.definition.parameters!.push({ name: 'NextCursor', target: 'responseField', targetName: 'meta.next_cursor', value: '{{PAGE_TOKEN_NEXT}}', hidden: true })
  assertProblem(checkReleaseForPush(r), '/definition/parameters/2/value', '{{PAGE_TOKEN_NEXT}} is read from the response but no query, body or header parameter sends it')
  method(r, 'list-notes').http!.path = '/notes/page/{{PAGE_TOKEN_NEXT}}'
  assertNoProblems(checkReleaseForPush(r))
})

test("Cyclr's CYCLR_PAGE_* spelling passes and pairs with the canonical one", () => {
  const r = loadRelease()
  const params = method(r, 'list-deals').parameters!
  params.find((p) => p.name === 'limit')!.value = '{{CYCLR_PAGE_SIZE}}'
  params.find((p) => p.name === 'NextCursor')!.value = '{{CYCLR_PAGE_TOKEN}}'
  method(r, 'list-notes').parameters![0].value = '{{CYCLR_PAGE_NEXT_URL}}'
  assertNoProblems(checkReleaseForPush(r))
  params.find((p) => p.name === 'after')!.value = '{{CYCLR_PAGE_TOKEN_X}}'
  assertProblem(checkReleaseForPush(r), `${m('list-deals')}/parameters/2/value`, '{{PAGE_TOKEN_X}} is sent but no responseField parameter reads it')
})
