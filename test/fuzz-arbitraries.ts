/*
 * Generators for fuzz.test.ts. Most of them make recipes (which real value to
 * start from, which edits to make) rather than strings: real session cookies
 * and tokens exist only once the app runs, and a recipe shrinks to the one edit
 * that breaks an invariant.
 */
import fc from 'fast-check'
import { b64, hmacToken } from './helpers.js'

// Bits that mean something to one of the decoders on the way: cookie and
// session separators, quotes, percent-encoding, both base64 alphabets and
// their padding, JWT dots, whitespace, a backslash, non-ASCII.
const CREDENTIAL_BITS = ['', ';', ',', '"', '%', '%3B', '%3D', '%2B', '%2', '+', '/', '-', '_', '=', '==', '.', ' ', '\t', 'A', 'a', '0', '\\', 'é']
// What makes a redirect target leave the origin, or hides that it does.
const PATH_BITS = ['/', '//', '\\', '%2F', '%2f', '%5C', '%', '%25', '..', '.', '%2e', ':', '@', '#', '?', '\t', '\n', '%09', '%00', ' ', 'é', '／', 'evil.example', '&next=//evil.example']

export type Mutation =
  | { op: 'replace' | 'insert', at: number, text: string }
  | { op: 'delete' | 'truncate' | 'toggleCase' | 'percent', at: number }
  | { op: 'padBits', segment: number, bits: number }
  | { op: 'alphabet' | 'double' }
  | { op: 'wrap', before: string, after: string }

/** One edit of a string; positions are taken modulo its length, so any edit fits any value. */
function mutationOf (bit: fc.Arbitrary<string>): fc.Arbitrary<Mutation> {
  const at = fc.nat()
  return fc.oneof(
    fc.record({ op: fc.constantFrom('replace' as const, 'insert' as const), at, text: bit }),
    fc.record({ op: fc.constantFrom('delete' as const, 'truncate' as const, 'toggleCase' as const, 'percent' as const), at }),
    // Changes only the unused low bits of a base64 segment's last character: other text, same bytes.
    fc.record({ op: fc.constant('padBits' as const), segment: fc.nat(), bits: fc.nat(15) }),
    fc.record({ op: fc.constantFrom('alphabet' as const, 'double' as const) }),
    fc.record({ op: fc.constant('wrap' as const), before: bit, after: bit })
  )
}
/** `common` two times in three, else one of `others`. */
function usually<T> (common: T, others: T[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: fc.constant(common), weight: 2 * others.length }, fc.constantFrom(...others))
}
/** Mostly a meaningful piece, sometimes any short text. */
const bitOf = (bits: string[]): fc.Arbitrary<string> => fc.oneof({ arbitrary: fc.constantFrom(...bits), weight: 3 }, fc.string({ maxLength: 4 }))
const credentialMutation = mutationOf(bitOf(CREDENTIAL_BITS))
// Edits after which some decoder still sees the same bytes: spare base64 bits, the other
// base64 alphabet, a trailing `;…` (secure-session reads two parts) or `=` (decoding stops there).
const quietMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('padBits' as const), segment: fc.nat(), bits: fc.nat(15) }),
  fc.constant({ op: 'alphabet' as const }),
  fc.record({ op: fc.constant('wrap' as const), before: fc.constant(''), after: fc.constantFrom(';', ';x', '=', '==') })
)
// The same edits with the pieces of an open redirect, to walk from a safe `next` to an unsafe one.
const pathMutation = mutationOf(bitOf(PATH_BITS))

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const digit = (c: string): number => c === '+' || c === '-' ? 62 : c === '/' || c === '_' ? 63 : B64.indexOf(c)
const ALPHABET_SWAP: Record<string, string> = { '+': '-', '-': '+', '/': '_', _: '/' }

/** `%XX` for every UTF-8 byte of `text` (a lone surrogate becomes U+FFFD). */
export function percentAll (text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('')
}

/** encodeURIComponent, also for lone surrogates. */
export function percentEncode (text: string): string {
  return text.replace(/[^\w.~-]/gu, (c) => percentAll(c))
}

function setLastDigit (segment: string, bits: number): string {
  const body = segment.replace(/=+$/, '')
  const spare = (body.length * 6) % 8
  const last = digit(body.slice(-1))
  if (spare === 0 || last === -1) return segment
  const mask = (1 << spare) - 1
  const urlSafe = /[-_]/.test(segment)
  const value = (last & ~mask) | (bits & mask)
  const char = value < 62 ? B64[value] : (value === 62 ? (urlSafe ? '-' : '+') : (urlSafe ? '_' : '/'))
  return body.slice(0, -1) + char + segment.slice(body.length)
}

function mutate (value: string, m: Mutation): string {
  const i = 'at' in m ? m.at % (value.length + 1) : 0
  switch (m.op) {
    case 'replace': return value.slice(0, i) + m.text + value.slice(i + 1)
    case 'insert': return value.slice(0, i) + m.text + value.slice(i)
    case 'delete': return value.slice(0, i) + value.slice(i + 1)
    case 'truncate': return value.slice(0, i)
    case 'toggleCase': {
      const c = value.charAt(i)
      return value.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + value.slice(i + 1)
    }
    case 'percent': return value.slice(0, i) + percentAll(value.charAt(i)) + value.slice(i + 1)
    case 'padBits': {
      const parts = value.split(/([.;])/)
      const index = 2 * (m.segment % Math.ceil(parts.length / 2))
      parts[index] = setLastDigit(parts[index] as string, m.bits)
      return parts.join('')
    }
    case 'alphabet': return value.replace(/[-+/_]/g, (c) => ALPHABET_SWAP[c] as string)
    case 'double': return value + value
    case 'wrap': return m.before + value + m.after
  }
}

/**
 * A value for a credential slot: a valid one of this slot as issued, any other
 * value the app made (another slot's, an inactive user's, another app's), a
 * value of this slot edited (anyhow, or quietly), or random text. Numbers pick
 * modulo the list.
 */
export type Source = { real: number } | { decoy: number } | { from: number, edits: Mutation[] } | { random: string }
export const source: fc.Arbitrary<Source> = fc.oneof(
  { arbitrary: fc.record({ real: fc.nat() }), weight: 4 },
  { arbitrary: fc.record({ decoy: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ from: fc.nat(), edits: fc.array(credentialMutation, { minLength: 1, maxLength: 3 }) }), weight: 3 },
  { arbitrary: fc.record({ from: fc.nat(), edits: fc.array(quietMutation, { minLength: 1, maxLength: 2 }) }), weight: 2 },
  { arbitrary: fc.record({ random: fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[\w-]{1,60}(\.[\w-]{0,60}){0,3}$/)) }), weight: 1 }
)

/** The value `recipe` makes from the slot's valid values, the slot's values (valid and decoys) and every value. */
export function build (recipe: Source, valid: string[], slot: string[], all: string[]): string {
  const at = (list: string[], i: number): string => list[i % list.length] as string
  if ('real' in recipe) return at(valid, recipe.real)
  if ('decoy' in recipe) return at(all, recipe.decoy)
  if ('from' in recipe) return recipe.edits.reduce(mutate, at(slot, recipe.from))
  return recipe.random
}

// Cookie values go back as the server sent them (URL-encoded), or raw, or
// encoded differently: @fastify/cookie decodes all of these to one value.
export type CookieEncoding = 'uri' | 'raw' | 'lowerHex' | 'every'
export function encodeCookie (value: string, how: CookieEncoding): string {
  if (how === 'raw') return value
  if (how === 'every') return percentAll(value)
  const uri = percentEncode(value)
  return how === 'lowerHex' ? uri.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()) : uri
}

/**
 * A Cookie header: the session and remember cookies in any order, doubled, under
 * near-miss names, with odd separators and junk; only the exact name may count.
 */
export const cookieHeader = fc.record({
  entries: fc.array(fc.record({
    slot: fc.constantFrom('session' as const, 'remember' as const),
    // A name the parser might confuse with the real one (case, spaces, a prefix more or less).
    name: usually('exact', ['upper', 'spaced', 'prefix', 'suffix']),
    value: source,
    encoding: usually<CookieEncoding>('uri', ['raw', 'lowerHex', 'every'])
  }), { maxLength: 3 }),
  separator: fc.constantFrom('; ', ';', ', ', ' ;; ', ';\t'),
  junk: fc.option(fc.string({ maxLength: 12 }), { nil: undefined })
})

export function cookieName (name: string, how: string): string {
  if (how === 'upper') return name.toUpperCase()
  if (how === 'spaced') return ` ${name} `
  if (how === 'prefix') return name.startsWith('__Host-') ? name.slice(7) : `__Host-${name}`
  return how === 'suffix' ? `${name}x` : name
}

/*
 * A token signed here: with the right secret but one broken claim (every
 * right-key token has one, so none is a valid credential), with the wrong
 * secret, or claiming `alg: none`.
 */
const BREAKAGES = ['noSub', 'subNumber', 'subEmpty', 'subUnknown', 'subInactive', 'noJti', 'jtiNumber', 'noType', 'typeOther',
  'noExp', 'expPast', 'expString', 'noIat', 'iatString', 'nbfFuture'] as const
export type Forgery = { alg: string, key: 'right' | 'wrong' | 'none', type: 'access' | 'refresh', breakage: typeof BREAKAGES[number] }
function forgery (): fc.Arbitrary<Forgery> {
  return fc.record({
    alg: fc.constantFrom('HS256', 'HS256', 'none', 'HS512', 'RS256', 'hs256'),
    key: fc.constantFrom('right' as const, 'wrong' as const, 'none' as const),
    type: fc.constantFrom('access' as const, 'refresh' as const),
    breakage: fc.constantFrom(...BREAKAGES)
  })
}

const BREAK: Record<Forgery['breakage'], (claims: Record<string, unknown>, now: number) => void> = {
  noSub: (c) => { delete c.sub },
  subNumber: (c) => { c.sub = 1 },
  subEmpty: (c) => { c.sub = '' },
  subUnknown: (c) => { c.sub = '999' },
  subInactive: (c) => { c.sub = '3' },
  noJti: (c) => { delete c.jti },
  jtiNumber: (c) => { c.jti = 7 },
  noType: (c) => { delete c.type },
  typeOther: (c) => { c.type = 'id' },
  noExp: (c) => { delete c.exp },
  expPast: (c, now) => { c.exp = now - 60 },
  expString: (c, now) => { c.exp = String(now + 600) },
  noIat: (c) => { delete c.iat },
  iatString: (c, now) => { c.iat = String(now) },
  nbfFuture: (c, now) => { c.nbf = now + 3600 }
}

/** The token a forgery recipe describes, for a user id `sub` (an active user) of an app signing with `secret`. */
export function forgeToken (f: Forgery, sub: string, secret: string): string {
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = { sub, iat: now, nbf: now, exp: now + 600, jti: 'forged', type: f.type, fresh: true }
  BREAK[f.breakage](claims, now)
  const header = { alg: f.alg, typ: 'at+jwt' }
  if (f.key === 'none') return `${b64(header)}.${b64(claims)}.`
  return hmacToken(claims, f.key === 'right' ? secret : `${secret}-but-not-quite`, header)
}

/** An Authorization header: the scheme in any case or another one, odd gaps and tails, around any token or forgery. */
const BEARER = { scheme: 'Bearer', gap: ' ', tail: '' }
export const authorization = fc.option(fc.record({
  // One oddity at a time, so that each meets a valid token often.
  frame: fc.oneof(
    { arbitrary: fc.constant(BEARER), weight: 4 },
    fc.constantFrom('bearer', 'BEARER', 'JWT', 'Basic', '', 'Bearer:').map((scheme) => ({ ...BEARER, scheme })),
    fc.constantFrom('  ', '\t', '', ' \t', '\u00a0').map((gap) => ({ ...BEARER, gap })),
    fc.constantFrom(' ', ',', ' x', '\t', '\n').map((tail) => ({ ...BEARER, tail }))
  ),
  token: fc.oneof({ arbitrary: source.map((s) => ({ s })), weight: 3 }, forgery().map((f) => ({ f })))
}), { nil: undefined, freq: 4 })

/** A token endpoint field: a real user name or password (mostly the first), edited, missing, or not a string at all. */
function field (bases: string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: usually(bases[0], bases.slice(1)), weight: 8 },
    { arbitrary: fc.tuple(fc.constantFrom(...bases), fc.array(credentialMutation, { minLength: 1, maxLength: 2 })).map(([base, edits]) => edits.reduce(mutate, base)), weight: 3 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...bases).map((b) => [b])), weight: 2 }
  )
}

/**
 * A token endpoint request: credentials-shaped JSON (extra, duplicated and
 * prototype keys written out literally, a BOM, whitespace), any JSON, or any
 * text; under a JSON, form, text or odd content type, or none.
 */
export function tokenRequest (usernames: string[], passwords: string[]) {
  const pair = (k: string, v: unknown): string => `${JSON.stringify(k)}:${JSON.stringify(v)}`
  const extraKey = fc.tuple(fc.constantFrom('__proto__', 'constructor', 'Username', 'username ', 'username', 'password'), fc.jsonValue({ maxDepth: 1 })) as fc.Arbitrary<[string, unknown]>
  const credentials = fc.record({
    username: field(usernames),
    password: field(passwords),
    extra: fc.oneof({ arbitrary: fc.constant<Array<[string, unknown]>>([]), weight: 2 }, fc.array(extraKey, { minLength: 1, maxLength: 2 })),
    extraFirst: fc.boolean(),
    wrap: usually(['', ''], [['\uFEFF', ''], [' \n', '\t '], ['', 'x'], ['[', ']']])
  }).map(({ username, password, extra, extraFirst, wrap }) => {
    const own = [pair('username', username), pair('password', password)].filter((p) => !p.endsWith(':undefined'))
    const more = extra.map(([k, v]) => pair(k, v))
    return `${wrap[0]}{${(extraFirst ? [...more, ...own] : [...own, ...more]).join(',')}}${wrap[1]}`
  })
  return fc.record({
    body: fc.oneof({ arbitrary: credentials, weight: 9 }, fc.json(), fc.string(), fc.constantFrom('username=alice&password=x', '')),
    contentType: usually<string | undefined>('application/json', ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json',
      'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/jsonx', 'application/json;;', undefined])
  })
}

// Known ways out of the origin: protocol-relative, backslashes, schemes, encoded and dot-segment variants.
const EVIL_NEXT = ['//evil.example', '/\\evil.example', '\\\\evil.example', '/\t/evil.example', 'https:evil.example', 'javascript:alert(1)',
  'data:text/html,x', 'http://evil.example/x', 'http://localhost/ok', 'http://localhost@evil.example/', 'http://evil.example\\@localhost/',
  '/%2F%2Fevil.example', '/%5Cevil.example', '/%2e%2e//evil.example', '/a/../..//evil.example', '/%252F%252Fevil', '///evil', '/.//evil',
  '%2F%2Fevil', '/\u2028/evil', '／／evil.example', 'HTTP://LOCALHOST//evil.example', 'http://localhost/%2F/evil', '/ok?x=//evil#//evil']

/** A `next` value: a known attack, a safe path or an attack edited (new attacks), a random URL, or any text. */
export const nextValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...EVIL_NEXT),
  { arbitrary: fc.tuple(usually('/account?tab=2#top', ['/', ...EVIL_NEXT]), fc.array(pathMutation, { minLength: 1, maxLength: 3 })).map(([base, edits]) => edits.reduce(mutate, base)), weight: 4 },
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ unit: 'binary', maxLength: 30 })
)

/** Raw text as a client can put it in a request line: printable ASCII as is (`%` and `\` too), the rest percent-encoded. */
export function requestTarget (text: string): string {
  return text.replace(/[^\x21-\x7e]/gu, (c) => percentAll(c))
}

/** A raw request URL of a guarded route, which becomes the `next` of its login redirect: dot segments, doubled slashes, backslashes, encodings. */
export const guardedUrl = fc.record({
  route: fc.constantFrom('/guarded/', '/guarded/', '/private', '/fresh'),
  path: fc.array(fc.oneof(fc.constantFrom(...PATH_BITS), fc.string({ maxLength: 8 })), { maxLength: 5 }).map((bits) => bits.join('')),
  query: fc.option(fc.oneof(nextValue, fc.string({ maxLength: 20 })), { nil: undefined })
}).map(({ route, path, query }) => requestTarget(route + (route === '/guarded/' ? path : '') + (query === undefined ? '' : `?${query}`)))
