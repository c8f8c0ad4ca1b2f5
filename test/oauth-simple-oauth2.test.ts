import t, { type Test } from 'tap'
import { ResourceOwnerPassword } from 'simple-oauth2'
import { MemoryStore } from '../lib/index.js'
import { familyApp, testClock } from './jwt-family-cases.js'
import { PASSWORD } from './helpers.js'

/*
 * The form grants with an OAuth 2.0 client nobody here wrote (simple-oauth2)
 * against a real server on 127.0.0.1: the password grant, the refresh grant,
 * the revocation endpoint, and the errors it reads.
 */

async function serve (t: Test): Promise<{ client: ResourceOwnerPassword, url: string, reused: string[] }> {
  const clock = testClock()
  const { app, reused } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const client = new ResourceOwnerPassword({
    // simple-oauth2 sends its client id and secret in a Basic header by default: no token of ours, ignored.
    client: { id: 'test-client', secret: '' },
    auth: { tokenHost: url, tokenPath: '/auth', refreshPath: '/auth/refresh', revokePath: '/auth/revoke' }
  })
  return { client, url, reused }
}

async function me (url: string, token: string): Promise<number> {
  return (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status
}

t.test('getToken, a guarded call, refresh(), and the spent token refused', async (t) => {
  const { client, url, reused } = await serve(t)
  const accessToken = await client.getToken({ username: 'alice', password: PASSWORD, scope: 'read' })
  const first = accessToken.token as { access_token: string, refresh_token: string, token_type: string, expires_at: Date }
  t.equal(first.token_type, 'Bearer')
  t.ok(first.expires_at instanceof Date, 'expires_in was read')
  t.equal(await me(url, first.access_token), 200)

  const refreshed = await accessToken.refresh()
  const second = refreshed.token as { access_token: string, refresh_token: string }
  t.not(second.refresh_token, first.refresh_token, 'a new refresh token')
  t.equal(await me(url, second.access_token), 200)
  const again = await refreshed.refresh()
  t.equal(await me(url, (again.token as { access_token: string }).access_token), 200, 'and again')
  t.same(reused, [])
})

t.test('a wrong password is an invalid_grant that the client reports', async (t) => {
  const { client } = await serve(t)
  const err = await client.getToken({ username: 'alice', password: 'wrong' }).then(() => null, (e: unknown) => e) as { output?: { statusCode: number }, data?: { payload: unknown } } | null
  t.equal(err?.output?.statusCode, 400)
  t.same(err?.data?.payload, { error: 'invalid_grant', error_description: 'Invalid credentials' })
})

t.test('revokeAll() ends the family through RFC 7009', async (t) => {
  const { client, url } = await serve(t)
  const accessToken = await client.getToken({ username: 'bob', password: PASSWORD })
  const token = accessToken.token as { access_token: string }
  // The endpoint answers RFC 7009's empty 200, which simple-oauth2's strict JSON reading (its default) refuses: read leniently.
  await accessToken.revokeAll({ json: true })
  t.equal(await me(url, token.access_token), 401, 'the access token is revoked')
  const err = await accessToken.refresh().then(() => null, (e: unknown) => e) as { data?: { payload: { error: string } } } | null
  t.equal(err?.data?.payload.error, 'invalid_grant', 'so is the refresh token')
})
