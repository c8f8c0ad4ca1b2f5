import type { LoginStore, MaybePromise } from '../types/index.js'
import { contractCases } from './store-contract-cases.js'
import type { ContractTest, StoreContractContext, StoreContractOptions } from './store-contract-types.js'

export type { ContractAssert, ContractTest, StoreContractContext, StoreContractOptions } from './store-contract-types.js'

/**
 * The contract every {@link LoginStore} must pass: get/set/delete, copies,
 * expiry, the per-user index, compare-and-set (also raced by parallel
 * callers), counters. Each check gets a new store from `makeStore`, made with
 * the suite's clock so that expiry is tested without sleeping, and closes it
 * afterwards. A store that talks to a server should give each call its own
 * key prefix (or database) so that checks do not see each other's keys.
 * Resolves when every check has run.
 *
 * @example
 * // tap
 * import t from 'tap'
 * import { runStoreContract } from 'fastify-login/testing'
 * await runStoreContract((name, fn) => t.test(name, fn), ({ clock }) => new MyStore({ clock }))
 *
 * @example
 * // node:test
 * import { test } from 'node:test'
 * import assert from 'node:assert/strict'
 * const t = { equal: assert.equal, same: assert.deepEqual, ok: assert.ok }
 * await runStoreContract((name, fn) => test(name, () => fn(t)), ({ clock }) => new MyStore({ clock }))
 */
export async function runStoreContract (
  test: ContractTest,
  makeStore: (context: StoreContractContext) => MaybePromise<LoginStore>,
  options: StoreContractOptions = {}
): Promise<void> {
  const parallel = options.parallel ?? 16
  for (const [name, check] of Object.entries(contractCases)) {
    await test(`store contract: ${name}`, async (t) => {
      let now = Date.now()
      const store = await makeStore({ clock: () => now })
      try {
        await check(t, { store, advance: (ms) => { now += ms }, parallel })
      } finally {
        await store.close?.()
      }
    })
  }
}
