import type { StoreJson } from '../types/index.js'

/**
 * Deep equality as JSON sees it: what `compareAndSet` compares. Object keys
 * may come in any order; arrays compare item by item. Only JSON values reach
 * it (the port's types say so), so there are no dates, maps or cycles to handle.
 */
export function jsonEqual (a: StoreJson, b: StoreJson): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((item, i) => jsonEqual(item, b[i] as StoreJson))
  }
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key] as StoreJson, b[key] as StoreJson))
}
