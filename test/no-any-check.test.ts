/*
 * The check of `npm test` (scripts/check-package.mjs) that the published
 * declarations hold no `any`: it finds the type, not the word.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

t.test('an `any` type is found wherever it is; the word in comments and strings is not', async (t) => {
  const { anyTypesIn } = await import('../scripts/no-any.mjs')
  const dir = mkdtempSync(join(tmpdir(), 'fastify-login-no-any-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'deep'))
  writeFileSync(join(dir, 'clean.d.ts'), `/** Works with any store (any is fine in prose). */
export declare const name: 'any'
export type Loose = Record<string, unknown>
`)
  writeFileSync(join(dir, 'deep', 'leaky.d.ts'), `export declare function f (x: unknown): void
export type Args = [any?, unknown?]
export declare const g: Array<any>
`)
  writeFileSync(join(dir, 'not-a-declaration.ts'), 'export const x: any = 1\n')
  t.same(anyTypesIn(dir), [join(dir, 'deep', 'leaky.d.ts') + ':2:21', join(dir, 'deep', 'leaky.d.ts') + ':3:31'])
})

t.test('the built package has none', async (t) => {
  const { anyTypesIn } = await import('../scripts/no-any.mjs')
  t.same(anyTypesIn(join(__dirname, '..', 'dist')), [])
})
