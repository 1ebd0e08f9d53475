// Accounts (SPEC §1): a partner's customers. `externalId` (the partner's own id) is unique per
// partner; the time zone is an IANA name; an optional parent account makes a sub-account.
import { canonicalTimeZone } from '../domain/accounts.js'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Account, AccountPatch } from '../store/repositories/accounts.js'
import type { Store } from '../store/store.js'
import type { Principal } from './partners.js'

export interface AccountInput {
  name: string
  description?: string | null
  externalId?: string | null
  timezone?: string
  parentId?: string | null
}

const isUniqueViolation = (err: unknown) => /unique|duplicate/i.test(String((err as Error)?.message))

export class AccountService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async get(partnerId: string, id: string): Promise<Account> {
    const a = await this.store.accounts.get(partnerId, id)
    if (!a) throw notFound('account', id)
    return a
  }

  list(partnerId: string, opts: { limit: number; after?: string; name?: string; externalId?: string; parentId?: string }): Promise<Account[]> {
    return this.store.accounts.list(partnerId, opts)
  }

  async create(actor: Principal, input: AccountInput): Promise<Account> {
    const timezone = this.#timezone(input.timezone ?? 'UTC')
    if (input.parentId) await this.#parent(actor.partnerId, input.parentId)
    if (input.externalId) await this.#assertExternalIdFree(actor.partnerId, input.externalId)
    const at = this.clock.now().toISOString()
    const account: Account = {
      id: newId('acc'),
      partnerId: actor.partnerId,
      name: input.name,
      description: input.description ?? null,
      externalId: input.externalId ?? null,
      timezone,
      parentId: input.parentId ?? null,
      createdAt: at,
      updatedAt: at,
    }
    try {
      await this.store.accounts.insert(account)
    } catch (err) {
      // The partial unique index settles a race between two creates with the same externalId.
      if (input.externalId && isUniqueViolation(err)) throw this.#taken(input.externalId)
      throw err
    }
    return account
  }

  async update(actor: Principal, id: string, patch: Partial<AccountInput>): Promise<Account> {
    const current = await this.get(actor.partnerId, id)
    const values: AccountPatch = { updatedAt: this.clock.now().toISOString() }
    if (patch.name !== undefined) values.name = patch.name
    if (patch.description !== undefined) values.description = patch.description
    if (patch.timezone !== undefined) values.timezone = this.#timezone(patch.timezone)
    if (patch.externalId !== undefined && patch.externalId !== current.externalId) {
      if (patch.externalId) await this.#assertExternalIdFree(actor.partnerId, patch.externalId)
      values.externalId = patch.externalId
    }
    if (patch.parentId !== undefined && patch.parentId !== current.parentId) {
      if (patch.parentId) {
        if (patch.parentId === id) throw fail('BAD_REQUEST', 'an account cannot be its own parent', [{ path: 'body.parentId', message: 'is the account itself' }])
        await this.#parent(actor.partnerId, patch.parentId)
        const ancestors = await this.store.accounts.ancestors(actor.partnerId, patch.parentId)
        if (ancestors.includes(id)) {
          throw fail('BAD_REQUEST', `account ${patch.parentId} is a sub-account of ${id}; making it the parent would create a cycle`, [{ path: 'body.parentId', message: 'is a descendant of this account' }])
        }
      }
      values.parentId = patch.parentId
    }
    try {
      await this.store.accounts.update(actor.partnerId, id, values)
    } catch (err) {
      if (patch.externalId && isUniqueViolation(err)) throw this.#taken(patch.externalId)
      throw err
    }
    return this.get(actor.partnerId, id)
  }

  /** Deletes the account and its account connectors; refused while it has sub-accounts. */
  async delete(actor: Principal, id: string): Promise<void> {
    await this.get(actor.partnerId, id)
    const children = await this.store.accounts.countChildren(actor.partnerId, id)
    if (children > 0) {
      throw fail('ACCOUNT_HAS_SUBACCOUNTS', `account ${id} has ${children} sub-account${children === 1 ? '' : 's'}; delete them or give them another parent first`, { subAccounts: children })
    }
    // Cycles do not exist yet; when they do, they are stopped (webhooks deregistered) here first.
    await this.store.accounts.delete(actor.partnerId, id)
  }

  #timezone(tz: string): string {
    const canonical = canonicalTimeZone(tz)
    if (!canonical) {
      throw fail('BAD_REQUEST', `timezone must be an IANA time zone name such as Europe/London or America/New_York; got ${JSON.stringify(tz)}`, [{ path: 'body.timezone', message: 'is not an IANA time zone' }])
    }
    return canonical
  }

  async #parent(partnerId: string, parentId: string): Promise<Account> {
    const parent = await this.store.accounts.get(partnerId, parentId)
    if (!parent) throw notFound('parent account', parentId)
    return parent
  }

  async #assertExternalIdFree(partnerId: string, externalId: string): Promise<void> {
    const other = await this.store.accounts.getByExternalId(partnerId, externalId)
    if (other) throw this.#taken(externalId, other.id)
  }

  #taken(externalId: string, otherId?: string) {
    return fail('EXTERNAL_ID_TAKEN', `externalId ${JSON.stringify(externalId)} is already used by ${otherId ? `account ${otherId}` : 'another account'}`, otherId ? { accountId: otherId } : undefined)
  }
}
