// The store port as a store author and a test author meet it: 'fastify-login'
// resolves to lib/index.ts, 'fastify-login/testing' to lib/testing/index.ts.
import assert from 'node:assert/strict'
import { test as nodeTest } from 'node:test'
import type { Test } from 'tap'
import { describe, expect, test } from 'tstyche'
import { MemoryStore, type LoginStore, type StoreValue } from 'fastify-login'
import { runStoreContract, type ContractAssert } from 'fastify-login/testing'

declare const store: LoginStore
declare const t: Test

describe('the store port', () => {
  test('MemoryStore is a LoginStore; so is a store that answers with promises', () => {
    expect(new MemoryStore()).type.toBeAssignableTo<LoginStore>()
    const remote = {
      get: async (_key: string): Promise<StoreValue | null> => null,
      set: async (): Promise<void> => {},
      delete: async () => false,
      compareAndSet: async (_key: string, _expected: StoreValue | null, _next: StoreValue | null) => true,
      increment: async () => 1,
      keysOfUser: async (): Promise<string[]> => [],
      deleteUser: async () => 0
    }
    expect(remote).type.toBeAssignableTo<LoginStore>()
  })

  test('values are JSON objects', () => {
    expect(store.set).type.toBeCallableWith('k', { a: [1, 'x', null, { b: true }] }, { ttlMs: 1000, userId: 'u1' })
    expect(store.set).type.not.toBeCallableWith('k', { at: new Date() }, { ttlMs: 1000 })
    expect(store.set).type.not.toBeCallableWith('k', { maybe: undefined }, { ttlMs: 1000 })
    expect(store.set).type.not.toBeCallableWith('k', 'text', { ttlMs: 1000 })
    expect(store.set).type.not.toBeCallableWith('k', { a: 1 })
  })

  test('compareAndSet: a next value needs its options, a delete (next null) none', () => {
    expect(store.compareAndSet).type.toBeCallableWith('k', null, { a: 1 }, { ttlMs: 1000 })
    expect(store.compareAndSet).type.toBeCallableWith('k', { a: 1 }, null)
    expect(store.compareAndSet).type.not.toBeCallableWith('k', null, { a: 1 })
  })
})

describe('runStoreContract', () => {
  test("takes tap's t.test, or node:test with assert", () => {
    expect(runStoreContract).type.toBeCallableWith((name: string, fn: (t: ContractAssert) => Promise<void>) => t.test(name, fn), () => new MemoryStore())
    const asserts: ContractAssert = { equal: assert.equal, same: assert.deepEqual }
    expect(runStoreContract).type.toBeCallableWith(
      (name: string, fn: (t: ContractAssert) => Promise<void>) => nodeTest(name, () => fn(asserts)),
      async ({ clock }: { clock: () => number }) => new MemoryStore({ clock }),
      { parallel: 4 })
    expect(runStoreContract(() => undefined, () => new MemoryStore())).type.toBe<Promise<void>>()
  })
})
