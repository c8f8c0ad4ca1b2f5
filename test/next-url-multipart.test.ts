import t from 'tap'
import fastifyMultipart from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { buildApp, type TestUser } from './helpers.js'

/*
 * `request.nextUrl()` with @fastify/multipart login forms: fields attached
 * to the body as field objects (`attachFieldsToBody: true`) or plain values
 * ('keyValues'), and a streamed form (no body), whose `next` the handler
 * reads itself and passes as `nextUrl({ next, fallback })`. Each value goes
 * through the same open-redirect check; a file part named `next` is no value.
 */

const alice: TestUser = { id: '1', name: 'alice' }

/** The `next` field of a streamed multipart form (its files drained); the part itself when `whole`. */
async function streamedNext (request: FastifyRequest, whole = false): Promise<unknown> {
  let next: unknown
  for await (const part of request.parts()) {
    if (part.fieldname === 'next') next = whole || part.type === 'file' ? part : part.value
    if (part.type === 'file') await part.toBuffer()
  }
  return next
}

/** POST /<mode>/login in scopes using @fastify/multipart in each mode; each logs alice in and redirects to nextUrl('/home'). */
async function multipartApp (): Promise<FastifyInstance> {
  const { app } = await buildApp({}, (app) => {
    app.register(async (scope) => {
      await scope.register(fastifyMultipart, { attachFieldsToBody: true })
      scope.post('/fields/login', async (request, reply) => {
        await reply.login(alice)
        return reply.redirect(request.nextUrl('/home'))
      })
    })
    app.register(async (scope) => {
      await scope.register(fastifyMultipart, { attachFieldsToBody: true, limits: { fieldSize: 4 } })
      scope.post('/short/login', async (request, reply) => reply.redirect(request.nextUrl('/home')))
    })
    app.register(async (scope) => {
      await scope.register(fastifyMultipart, { attachFieldsToBody: 'keyValues' })
      scope.post('/keyvalues/login', async (request, reply) => {
        await reply.login(alice)
        return reply.redirect(request.nextUrl('/home'))
      })
    })
    app.register(async (scope) => {
      await scope.register(fastifyMultipart)
      scope.post('/stream/login', async (request, reply) => {
        const next = await streamedNext(request)
        await reply.login(alice)
        return reply.redirect(request.nextUrl({ next, fallback: '/home' }))
      })
      // The part object itself: a field object is read, a file part is not.
      scope.post('/stream-part/login', async (request, reply) => reply.redirect(request.nextUrl({ next: await streamedNext(request, true), fallback: '/home' })))
      // Streamed, without the explicit value: there is no body to read.
      scope.post('/stream-implicit/login', async (request, reply) => {
        await streamedNext(request)
        return reply.redirect(request.nextUrl('/home'))
      })
    })
  })
  return app
}

type Part = [name: string, value: string] | [name: string, value: string, filename: string]

/** A multipart/form-data body of `parts`, serialized by the platform's FormData and Request. */
async function multipart (parts: Part[]): Promise<{ payload: Buffer, headers: Record<string, string> }> {
  const form = new FormData()
  for (const [name, value, filename] of parts) {
    if (filename === undefined) form.append(name, value)
    else form.append(name, new Blob([value], { type: 'text/plain' }), filename)
  }
  const request = new Request('http://127.0.0.1/', { method: 'POST', body: form })
  return { payload: Buffer.from(await request.arrayBuffer()), headers: { 'content-type': request.headers.get('content-type') as string } }
}

/** POST the multipart `parts` to `url`; the Location it redirects to. */
async function locationOf (app: FastifyInstance, url: string, parts: Part[], host = 'app.example'): Promise<string | undefined> {
  const { payload, headers } = await multipart(parts)
  const res = await app.inject({ method: 'POST', url, payload, headers: { ...headers, host } })
  if (res.statusCode !== 302) throw new Error(`expected a redirect, got ${res.statusCode} ${res.body}`)
  return res.headers.location as string | undefined
}

t.test('a safe next in a multipart form, in every mode', async (t) => {
  const app = await multipartApp()
  t.teardown(() => app.close())
  for (const mode of ['fields', 'keyvalues', 'stream', 'stream-part']) {
    const url = `/${mode}/login`
    t.equal(await locationOf(app, url, [['user', 'alice'], ['next', '/account?tab=2']]), '/account?tab=2', `${mode}: a path`)
    t.equal(await locationOf(app, url, [['next', 'https://app.example/account']]), '/account', `${mode}: an absolute URL on the Host, as its path`)
    t.equal(await locationOf(app, url, [['user', 'alice']]), '/home', `${mode}: none, the fallback`)
  }
})

t.test('unsafe next values in a multipart form give the fallback, in every mode', async (t) => {
  const app = await multipartApp()
  t.teardown(() => app.close())
  for (const mode of ['fields', 'keyvalues', 'stream', 'stream-part']) {
    for (const next of ['//evil.example', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/%2F%2Fevil.example']) {
      t.equal(await locationOf(app, `/${mode}/login`, [['next', next]]), '/home', `${mode}: ${next}`)
    }
  }
})

t.test('a file part named next is not a next value', async (t) => {
  const app = await multipartApp()
  t.teardown(() => app.close())
  for (const mode of ['fields', 'keyvalues', 'stream', 'stream-part']) {
    t.equal(await locationOf(app, `/${mode}/login`, [['next', '/account', 'next.txt']]), '/home', mode)
  }
})

t.test('a repeated next field, or one cut short by the field size limit, is not a next value', async (t) => {
  const app = await multipartApp()
  t.teardown(() => app.close())
  for (const mode of ['fields', 'keyvalues']) {
    t.equal(await locationOf(app, `/${mode}/login`, [['next', '/a'], ['next', '/b']]), '/home', `${mode}: repeated`)
  }
  t.equal(await locationOf(app, '/short/login', [['next', '/abc']]), '/abc', 'within the limit')
  t.equal(await locationOf(app, '/short/login', [['next', '/account']]), '/home', 'truncated')
})

t.test('a streamed form without the explicit value: the query string, else the fallback', async (t) => {
  const app = await multipartApp()
  t.teardown(() => app.close())
  t.equal(await locationOf(app, '/stream-implicit/login', [['next', '/account']]), '/home', 'the body is not there to read')
  t.equal(await locationOf(app, '/stream-implicit/login?next=%2Fq', [['next', '/account']]), '/q')
})

t.test('the explicit next replaces the query string\'s', async (t) => {
  const app = await multipartApp()
  t.teardown(() => app.close())
  t.equal(await locationOf(app, '/stream/login?next=%2Ffrom-query', [['next', '/from-form']]), '/from-form')
  t.equal(await locationOf(app, '/stream/login?next=%2Ffrom-query', []), '/from-query', 'an undefined next: the request\'s own')
  t.equal(await locationOf(app, '/stream/login?next=%2F%2Fevil.example', [['next', '/from-form']]), '/from-form')
  t.equal(await locationOf(app, '/stream/login?next=%2Ffrom-query', [['next', '//evil.example']]), '/home', 'an unsafe explicit value is not replaced by the query\'s')
})

t.test('nextUrl({ next, fallback }) with values of other kinds', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.post<{ Body: { next?: unknown, fallback?: string } }>('/explicit', async (request) => ({ to: request.nextUrl({ next: request.body.next, ...(request.body.fallback === undefined ? {} : { fallback: request.body.fallback }) }) }))
  })
  t.teardown(() => app.close())
  const to = async (body: Record<string, unknown>): Promise<string> => (await app.inject({ method: 'POST', url: '/explicit', payload: body })).json<{ to: string }>().to
  t.equal(await to({ next: '/x' }), '/x')
  t.equal(await to({ next: { type: 'field', value: '/x' } }), '/x', 'a multipart field object')
  t.equal(await to({ next: { value: '/x' } }), '/', 'an object that is no field')
  t.equal(await to({ next: { type: 'file', value: '/x' } }), '/', 'a file part')
  t.equal(await to({ next: { type: 'field', value: 5 } }), '/')
  t.equal(await to({ next: ['/x'] }), '/', 'an array')
  t.equal(await to({ next: 5 }), '/')
  t.equal(await to({ next: null }), '/')
  t.equal(await to({ next: 5, fallback: '/f' }), '/f')
  t.equal(await to({}), '/', 'no next and no fallback: /')
  t.equal(await to({ fallback: '/f' }), '/f')
})
