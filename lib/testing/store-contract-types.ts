import type { LoginStore } from '../types/index.js'

/* The types of runStoreContract(), apart so that the suite and its checks both import them. */

/** The assertions the contract suite makes (always with a message): tap's `t` has them, and node:test's `assert.equal` and `assert.deepEqual` map onto them. */
export interface ContractAssert {
  /** Strict equality (`===`). */
  equal (actual: unknown, expected: unknown, message: string): unknown
  /** Deep equality of plain data. */
  same (actual: unknown, expected: unknown, message: string): unknown
}

/** Something that runs one named, async test: tap's `t.test`, or an adapter around node:test's `test`. */
export type ContractTest = (name: string, fn: (t: ContractAssert) => Promise<void>) => unknown

/** What the suite hands `makeStore`: the clock the new store must read for every expiry decision. */
export interface StoreContractContext {
  /** Milliseconds since the epoch; starts at the real time, and the suite moves it forward. */
  clock: () => number
}

/** Options of `runStoreContract()`. */
export interface StoreContractOptions {
  /** How many callers race in the concurrency checks. Default 16. */
  parallel?: number
}

/** One check of the suite: the store under test, and a hand on its clock. */
export interface ContractHarness {
  store: LoginStore
  /** Moves the store's clock `ms` forward. */
  advance: (ms: number) => void
  parallel: number
}
