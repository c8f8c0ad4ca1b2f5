import t from 'tap'
import { loginUrlWithNext, parseDuration, safeNextUrl } from '../lib/index.js'
import { nextParamFor } from '../lib/redirect/safe-next.js'
import { buildApp } from './helpers.js'

const HOST = 'app.example'

// Each of these must be refused, with or without the `host` option.
const hostile: Array<[string, unknown]> = [
  ['protocol-relative URL', '//evil.com'],
  ['three slashes', '///evil.com'],
  ['slash backslash', '/\\evil.com'],
  ['two backslashes', '\\\\evil.com'],
  ['scheme without slashes', 'https:evil.com'],
  ['http URL to another host', 'http://evil.com'],
  ['https URL to another host', 'https://evil.com'],
  ['javascript: URL', 'javascript:alert(1)'],
  ['mixed-case javascript: URL', 'JaVaScRiPt:alert(1)'],
  ['data: URL', 'data:text/html,x'],
  ['encoded slashes after a slash', '/%2F%2Fevil.com'],
  ['lower-case encoded slashes', '/%2f%2fevil.com'],
  ['encoded slashes alone', '%2F%2Fevil.com'],
  ['encoded backslash', '/%5Cevil.com'],
  ['tab', '/\tevil'],
  ['encoded tab', '/%09/evil.com'],
  ['newline', '/\n/evil.com'],
  ['NUL byte', '\x00/x'],
  ['encoded NUL byte', '/x%00'],
  ['leading space', ' /x'],
  ['inner space', '/x y'],
  ['encoded CRLF (header injection)', '/%0d%0aSet-Cookie:x'],
  ['credentials in the URL', 'https://user@app.example/'],
  ['user and password in the URL', 'https://user:pw@app.example/'],
  ['configured host on another port', 'https://app.example:8443/x'],
  ['another host', 'https://other.example/x'],
  ['configured host as a prefix of another host', 'http://app.example.evil.com'],
  ['protocol-relative URL to the configured host', '//app.example'],
  ['absolute URL whose path starts with //', 'https://app.example//evil.com'],
  ['absolute URL with a backslash', 'https://app.example/\\evil'],
  ['scheme and slashes, no host', 'https://'],
  ['port out of range', 'https://app.example:99999/x'],
  ['unclosed IPv6 host', 'http://[::1/x'],
  // The path '//[' would be read as an (unparsable) host if it were kept as a relative URL.
  ['absolute URL whose path is an unparsable authority', 'https://app.example//['],
  ['dot segment then slash', '/.//evil.com'],
  ['parent segment then slash', '/a/..//evil.com'],
  ['encoded dot segment then encoded slashes', '/%2e/%2F%2Fevil.com'],
  ['encoded parent segment then encoded slash', '/a/%2e%2e/%2fevil.com'],
  ['relative path', 'evil.com'],
  ['query only', '?next=x'],
  ['fragment only', '#x'],
  ['undefined', undefined],
  ['null', null],
  ['a number', 42],
  ['an object', {}],
  ['an array', ['/a']],
  ['empty string', ''],
  ['a 3000-character path', '/' + 'a'.repeat(2999)],
  ['malformed percent encoding', '/%E0%A4%A'],
  ['lone percent sign', '/100%']
]

t.test('hostile targets give null', async (t) => {
  for (const [name, target] of hostile) {
    t.equal(safeNextUrl(target), null, `${name}, no host option`)
    t.equal(safeNextUrl(target, { host: HOST }), null, `${name}, host ${HOST}`)
  }
})

t.test('same-origin paths are kept as they are', async (t) => {
  t.equal(safeNextUrl('/'), '/')
  t.equal(safeNextUrl('/a/b?c=d#e'), '/a/b?c=d#e')
  t.equal(safeNextUrl('/search?q=%C3%A9t%C3%A9'), '/search?q=%C3%A9t%C3%A9', 'percent-encoded UTF-8 stays encoded')
  t.equal(safeNextUrl('/a?next=//evil.com'), '/a?next=//evil.com', 'slashes in the query do not change the host')
  t.equal(safeNextUrl('/' + 'a'.repeat(2000)), '/' + 'a'.repeat(2000), 'long but reasonable paths pass')
})

t.test('absolute URLs on the configured host become paths', async (t) => {
  t.equal(safeNextUrl('https://app.example/x?y=1', { host: HOST }), '/x?y=1')
  t.equal(safeNextUrl('http://app.example/x#h', { host: HOST }), '/x#h')
  t.equal(safeNextUrl('https://app.example', { host: HOST }), '/')
  t.equal(safeNextUrl('HTTPS://APP.EXAMPLE/x', { host: HOST }), '/x', 'URL host is case-insensitive')
  t.equal(safeNextUrl('https://app.example/x', { host: 'App.Example' }), '/x', 'host option is case-insensitive')
  t.equal(safeNextUrl('https://app.example:8443/x', { host: 'app.example:8443' }), '/x', 'host with a port')
  t.equal(safeNextUrl('https://app.example/x?y=1'), null, 'refused without the host option')
})

t.test('request.nextUrl() applies the same rules to the next parameter', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.get('/where', async (request) => ({ next: request.nextUrl() }))
    app.get('/where-else', async (request) => ({ next: request.nextUrl('/home') }))
  })
  t.teardown(() => app.close())

  const ask = async (next: string, host = HOST): Promise<unknown> => {
    const res = await app.inject({ url: '/where', query: { next }, headers: { host } })
    t.equal(res.statusCode, 200)
    return res.json().next
  }
  for (const target of ['//evil.com', '/\\evil.com', 'javascript:alert(1)', '/%2F%2Fevil.com', '/%0d%0aSet-Cookie:x', 'https://evil.com/']) {
    t.equal(await ask(target), '/', `${JSON.stringify(target)} falls back to /`)
  }
  t.equal(await ask('/account?tab=2'), '/account?tab=2')
  t.equal(await ask('https://app.example/account'), '/account', 'absolute URL on the request host')
  t.equal(await ask('https://app.example/account', 'other.example'), '/', 'absolute URL on another host than the request')

  const res = await app.inject({ url: '/where-else', query: { next: '//evil.com' } })
  t.equal(res.json().next, '/home', 'custom fallback')
  const none = await app.inject({ url: '/where-else' })
  t.equal(none.json().next, '/home', 'no next parameter gives the fallback')
  const twice = await app.inject({ url: '/where?next=/a&next=/b' })
  t.equal(twice.statusCode, 200, 'a repeated next parameter is no crash')
  t.equal(twice.json().next, '/', 'a repeated next parameter (an array) is refused')
})

t.test('loginUrlWithNext', async (t) => {
  t.equal(loginUrlWithNext('/login', '/secret'), '/login?next=%2Fsecret')
  t.equal(loginUrlWithNext('/login?lang=fr', '/secret?a=1'), '/login?lang=fr&next=%2Fsecret%3Fa%3D1', 'keeps the existing query')
  t.equal(loginUrlWithNext('/login?', '/x'), '/login?next=%2Fx', 'trailing ?')
  t.equal(loginUrlWithNext('/login?a=1&', '/x'), '/login?a=1&next=%2Fx', 'trailing &')
  t.equal(loginUrlWithNext('/login#top', '/x'), '/login?next=%2Fx#top', 'hash stays last')
  t.equal(loginUrlWithNext('/login?a=1#h', '/x y&z'), '/login?a=1&next=%2Fx+y%26z#h', 'value is encoded')
  t.equal(loginUrlWithNext('/login', '/x', 'return_to'), '/login?return_to=%2Fx', 'custom parameter name')
  t.equal(loginUrlWithNext('https://sso.example/login', 'https://app.example/x'), 'https://sso.example/login?next=https%3A%2F%2Fapp.example%2Fx', 'absolute login URL')
  t.equal(loginUrlWithNext('/login?lang=fr', undefined), '/login?lang=fr', 'undefined next leaves the URL alone')
})

t.test('nextParamFor: the next value of the unauthorized redirect', async (t) => {
  const here = 'http://app.example'
  t.equal(nextParamFor('/login', '/private?a=1', here), '/private?a=1', 'a relative login URL gets the path and query')
  t.equal(nextParamFor('http://app.example/login', '/private?a=1', here), '/private?a=1', 'a login URL on the same origin too')
  t.equal(nextParamFor('HTTP://APP.EXAMPLE:80/login', '/private', here), '/private', 'origins are compared after normalisation')
  t.equal(nextParamFor('https://app.example/login', '/private', here), 'http://app.example/private', 'another scheme is another origin: the full URL')
  t.equal(nextParamFor('https://sso.example/login', '/private?a=1', here), 'http://app.example/private?a=1', 'another host: the full URL')
  // Login URLs are validated at registration, but the check is shape only: these pass it.
  t.equal(nextParamFor('https://sso.example:99999/login', '/private', here), '/private', 'an unparsable login URL cannot be compared: the path, never a throw')
  t.equal(nextParamFor('http://[::1/login', '/private', here), '/private', 'an unclosed IPv6 host: the same')
})

t.test('parseDuration', async (t) => {
  t.equal(parseDuration(1), 1)
  t.equal(parseDuration(3600), 3600)
  t.equal(parseDuration('90s'), 90)
  t.equal(parseDuration('15m'), 900)
  t.equal(parseDuration('12h'), 43200)
  t.equal(parseDuration('30d'), 2592000)
  t.equal(parseDuration('2w'), 1209600)
  t.equal(parseDuration(' 15m '), 900, 'surrounding spaces are trimmed')

  const bad: unknown[] = [0, -1, 1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 1, '10y', '', 'abc', '1e3', '15', '15M', '0s', '-5m', '1.5h', null, undefined, {}, ['1d'], true,
    // Longer than 100 years: the cookie's Expires date would not exist, so logins would fail.
    '999999999w', 1e15, 101 * 365 * 86400]
  for (const value of bad) t.equal(parseDuration(value), undefined, `${typeof value === 'number' ? String(value) : JSON.stringify(value)} is refused`)
  t.equal(parseDuration(100 * 365 * 86400), 100 * 365 * 86400, '100 years is the limit')
})
