import type { StoreValue } from '../types/index.js'
import type { ContractAssert, ContractHarness } from './store-contract-types.js'

/*
 * The checks of runStoreContract(), by name. Keys look like the plugin's
 * (ASCII, one {…} hash-tag group); user ids are arbitrary strings.
 */

const MINUTE = { ttlMs: 60_000 }
const A = 'contract:{u1}:a'
const B = 'contract:{u1}:b'
const C = 'contract:{u2}:c'
const D = 'contract:plain:d'
const ODD_USER = 'ü ser:{x} "q"'

const sorted = (keys: string[]): string[] => [...keys].sort()

type Check = (t: ContractAssert, h: ContractHarness) => Promise<void>

export const contractCases: Record<string, Check> = {
  'get, set and delete round trip': async (t, { store }) => {
    t.equal(await store.get(A), null, 'a key never set is null')
    await store.set(A, { n: 1 }, MINUTE)
    t.same(await store.get(A), { n: 1 }, 'get answers what set stored')
    const rich = { n: 2.5, text: 'é ✓ "q"\n', list: [1, 'two', null, true, { deep: [] }], none: null, flag: false }
    await store.set(A, rich, MINUTE)
    t.same(await store.get(A), rich, 'set replaces the value; every JSON type comes back as it went in')
    t.equal(await store.delete(A), true, 'delete answers true for a live key')
    t.equal(await store.get(A), null, 'a deleted key is null')
    t.equal(await store.delete(A), false, 'delete answers false for an absent key')
  },

  'values are copies': async (t, { store }) => {
    const value = { nested: { n: 1 }, list: [1] }
    await store.set(A, value, MINUTE)
    value.nested.n = 2
    value.list.push(2)
    const got = await store.get(A) as { nested: { n: number }, list: number[] }
    t.same(got, { nested: { n: 1 }, list: [1] }, 'changing the object given to set changes nothing stored')
    got.nested.n = 3
    t.same(await store.get(A), { nested: { n: 1 }, list: [1] }, 'changing what get answered changes nothing stored')
    const next = { nested: { n: 9 } }
    await store.compareAndSet(A, { nested: { n: 1 }, list: [1] }, next, MINUTE)
    next.nested.n = 10
    t.same(await store.get(A), { nested: { n: 9 } }, 'changing the object given to compareAndSet changes nothing stored')
  },

  'keys expire after ttlMs': async (t, { store, advance }) => {
    await store.set(A, { n: 1 }, { ttlMs: 1000 })
    advance(999)
    t.same(await store.get(A), { n: 1 }, 'live 1 ms before its expiry')
    advance(1)
    t.equal(await store.get(A), null, 'absent once ttlMs has passed')
    t.equal(await store.delete(A), false, 'an expired key cannot be deleted')
    await store.set(B, { n: 1 }, { ttlMs: 1000 })
    advance(600)
    await store.set(B, { n: 2 }, { ttlMs: 1000 })
    advance(600)
    t.same(await store.get(B), { n: 2 }, 'set again starts a new expiry')
    advance(400)
    t.equal(await store.get(B), null, 'which ends ttlMs after that set')
  },

  'the per-user index lists live keys': async (t, { store, advance }) => {
    await store.set(A, { n: 1 }, { ...MINUTE, userId: 'u1' })
    await store.set(B, { n: 2 }, { ...MINUTE, userId: 'u1' })
    await store.set(C, { n: 3 }, { ...MINUTE, userId: 'u2' })
    await store.set(D, { n: 4 }, MINUTE)
    t.same(sorted(await store.keysOfUser('u1')), [A, B], "a user's keys are listed")
    t.same(await store.keysOfUser('u2'), [C], "another user's are not")
    t.same(await store.keysOfUser('nobody'), [], 'an unknown user has none')
    t.equal(await store.delete(A), true, 'delete of an indexed key')
    t.same(await store.keysOfUser('u1'), [B], 'a deleted key leaves the index')
    await store.set('contract:{u1}:short', { n: 5 }, { ttlMs: 1000, userId: 'u1' })
    advance(1000)
    t.same(await store.keysOfUser('u1'), [B], 'an expired key leaves the index')
    await store.set(B, { n: 2 }, { ...MINUTE, userId: 'u2' })
    t.same(await store.keysOfUser('u1'), [], 'set with another userId moves the key out of the old index…')
    t.same(sorted(await store.keysOfUser('u2')), [B, C], '…into the new one')
    await store.set(B, { n: 2 }, MINUTE)
    t.same(await store.keysOfUser('u2'), [C], 'set without userId takes the key out of the index')
    t.same(await store.get(B), { n: 2 }, 'and keeps the value')
    await store.set(D, { n: 6 }, { ...MINUTE, userId: ODD_USER })
    t.same(await store.keysOfUser(ODD_USER), [D], 'a user id may hold any character')
  },

  "deleteUser removes all and only that user's keys": async (t, { store, advance }) => {
    await store.set(A, { n: 1 }, { ...MINUTE, userId: 'u1' })
    await store.set(B, { n: 2 }, { ...MINUTE, userId: 'u1' })
    await store.set(C, { n: 3 }, { ...MINUTE, userId: 'u2' })
    await store.set(D, { n: 4 }, MINUTE)
    await store.set('contract:{u1}:short', { n: 5 }, { ttlMs: 1000, userId: 'u1' })
    advance(1000)
    t.equal(await store.deleteUser('u1'), 2, 'answers how many live keys it removed')
    t.equal(await store.get(A), null, "the user's keys are gone")
    t.equal(await store.get(B), null, 'all of them')
    t.same(await store.keysOfUser('u1'), [], 'and so is the index')
    t.same(await store.get(C), { n: 3 }, "another user's key stays")
    t.same(await store.keysOfUser('u2'), [C], 'and stays listed')
    t.same(await store.get(D), { n: 4 }, 'a key of no user stays')
    t.equal(await store.deleteUser('u1'), 0, 'a second call removes nothing')
    t.equal(await store.deleteUser('nobody'), 0, 'nor does one for an unknown user')
    await store.set(D, { n: 4 }, { ...MINUTE, userId: ODD_USER })
    t.equal(await store.deleteUser(ODD_USER), 1, 'a user id may hold any character')
    t.equal(await store.get(D), null, 'and its key is gone')
  },

  'compareAndSet swaps only on a match': async (t, { store, advance }) => {
    t.equal(await store.compareAndSet(A, null, { v: 1, list: [1, 2] }, MINUTE), true, 'expected null swaps when the key is absent')
    t.same(await store.get(A), { v: 1, list: [1, 2] }, 'the swap stored next')
    t.equal(await store.compareAndSet(A, null, { v: 2 }, MINUTE), false, 'expected null does not swap when the key is there')
    const mismatches: StoreValue[] = [{ v: 2, list: [1, 2] }, { v: 1, list: [2, 1] }, { v: 1 }, { v: 1, list: [1, 2], more: null }, { v: '1', list: [1, 2] }]
    for (const expected of mismatches) {
      t.equal(await store.compareAndSet(A, expected, { v: 2 }, MINUTE), false, `no swap when expecting ${JSON.stringify(expected)}`)
    }
    t.same(await store.get(A), { v: 1, list: [1, 2] }, 'a failed compareAndSet changes nothing')
    t.equal(await store.compareAndSet(A, { list: [1, 2], v: 1 }, { v: 2 }, { ttlMs: 1000, userId: 'u1' }), true,
      'a deeply equal value matches, whatever the order of its keys')
    t.same(await store.get(A), { v: 2 }, 'the swap stored next')
    t.same(await store.keysOfUser('u1'), [A], 'the userId of a swap puts the key in the index')
    advance(1000)
    t.equal(await store.get(A), null, 'the ttlMs of a swap sets the expiry')
    t.equal(await store.compareAndSet(A, { v: 2 }, { v: 3 }, MINUTE), false, 'an expired value does not match…')
    t.equal(await store.compareAndSet(A, null, { v: 3 }, { ...MINUTE, userId: 'u1' }), true, '…absence does')
    t.equal(await store.compareAndSet(A, { v: 3 }, null), true, 'next null deletes the key on a match')
    t.equal(await store.get(A), null, 'the key is gone')
    t.same(await store.keysOfUser('u1'), [], 'and out of the index')
    await store.set(B, { v: 1 }, MINUTE)
    t.equal(await store.compareAndSet(B, { v: 0 }, null), false, 'next null on a mismatch deletes nothing')
    t.same(await store.get(B), { v: 1 }, 'the value stays')
  },

  'of parallel compareAndSet calls, exactly one wins': async (t, { store, parallel }) => {
    await store.set(A, { v: 0 }, MINUTE)
    const callers = Array.from({ length: parallel }, (_, i) => i + 1)
    const swaps = await Promise.all(callers.map((i) => store.compareAndSet(A, { v: 0 }, { v: i }, MINUTE)))
    t.equal(swaps.filter(Boolean).length, 1, `one of ${parallel} callers swaps a present value`)
    t.same(await store.get(A), { v: swaps.indexOf(true) + 1 }, "the value is the winner's")
    const creates = await Promise.all(callers.map((i) => store.compareAndSet(B, null, { v: i }, { ...MINUTE, userId: 'u1' })))
    t.equal(creates.filter(Boolean).length, 1, `one of ${parallel} callers creates an absent key`)
    t.same(await store.get(B), { v: creates.indexOf(true) + 1 }, "the value is the winner's")
    t.same(await store.keysOfUser('u1'), [B], 'listed once')
  },

  'increment counts within a fixed window': async (t, { store, advance, parallel }) => {
    const counter = 'contract:fail:ip'
    t.equal(await store.increment(counter, { ttlMs: 1000 }), 1, 'a new counter starts at 1')
    t.equal(await store.increment(counter, { ttlMs: 1000 }), 2, 'and counts up')
    advance(600)
    t.equal(await store.increment(counter, { ttlMs: 1000 }), 3, 'incrementing does not extend the window…')
    advance(400)
    t.equal(await store.increment(counter, { ttlMs: 1000 }), 1, '…so it starts again at 1 once the first ttlMs has passed')
    t.equal(await store.delete(counter), true, 'a counter can be deleted')
    t.equal(await store.increment(counter, { ttlMs: 1000 }), 1, 'and then starts again at 1')
    const counts = await Promise.all(Array.from({ length: parallel }, () => store.increment('contract:fail:race', MINUTE)))
    t.same([...counts].sort((a, b) => a - b), Array.from({ length: parallel }, (_, i) => i + 1),
      `${parallel} parallel increments each get their own count`)
  }
}
