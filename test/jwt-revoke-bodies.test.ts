import t from 'tap'
import { MemoryStore } from '../lib/index.js'
import { familyApp, testClock } from './jwt-family-cases.js'
import { getTokens } from './helpers.js'

/* Whatever body reaches POST /auth/revoke, the answer is a 200, 400, 413 or 415: never a 5xx, never a crash. */
t.test('odd bodies sent to the revoke endpoint get a clear answer', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const tokens = await getTokens(app)
  const cases: Array<[string | undefined, string | Buffer | undefined]> = [
    ['application/json', '{"token": 1}'],
    ['application/json', '{"token": ["a"]}'],
    ['application/json', '{"token": {"toString": 1}}'],
    ['application/json', '{"__proto__": {"token": "x"}}'],
    ['application/json', 'null'],
    ['application/json', ''],
    ['application/json', '"x"'],
    ['application/json', '{"token": "' + 'a'.repeat(15000) + '"}'],
    ['application/json', '{"token": "' + 'a'.repeat(17000) + '"}'],
    ['application/json; charset=utf-16', '{"token":"x"}'],
    ['application/x-www-form-urlencoded', 'token=%ZZ'],
    ['application/x-www-form-urlencoded', 'token=%E0%A4%A'],
    ['application/x-www-form-urlencoded', 'token='],
    ['application/x-www-form-urlencoded', 'token=a&token=b'],
    ['application/x-www-form-urlencoded', 'token=a&TOKEN=b'],
    ['application/x-www-form-urlencoded', '&&&==='],
    ['application/x-www-form-urlencoded', Buffer.from([0xff, 0xfe, 0x00, 0x74])],
    ['application/x-www-form-urlencoded', `token=${tokens.access_token}&token_type_hint=${'x'.repeat(10000)}`],
    ['application/x-www-form-urlencoded', `token=${tokens.refresh_token}.`],
    ['application/x-www-form-urlencoded', `token=${tokens.refresh_token.split('.').slice(0, 2).join('.')}.`],
    ['application/x-www-form-urlencoded', 'token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.'],
    ['text/plain', 'token=x'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nx\r\n--x--'],
    [undefined, 'token=x'],
    [undefined, undefined],
    ['application/x-www-form-urlencoded', undefined],
    ['application/json', undefined],
    ['', 'token=x'],
    ['application/x-www-form-urlencoded;', 'token=x'],
    ['APPLICATION/X-WWW-FORM-URLENCODED', 'token=x']
  ]
  for (const [type, payload] of cases) {
    const headers: Record<string, string> = {}
    if (type !== undefined) headers['content-type'] = type
    const res = await app.inject({ method: 'POST', url: '/auth/revoke', headers, ...(payload === undefined ? {} : { payload }) })
    const label = `${type ?? '(none)'} ${String(payload).slice(0, 40)}`
    t.ok([200, 400, 413, 415].includes(res.statusCode), `${label}: ${res.statusCode} ${res.body.slice(0, 80)}`)
  }
})
