// Starts the demo: `npm start` (builds the package first), then open the URL it prints.
// HOST (default 127.0.0.1), PORT (default 3000), LOG_LEVEL (default info) and
// SESSION_KEY (default: a development-only key) are read from the environment.
import { buildDemoApp, DEMO_CREDENTIALS } from './app.mjs'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 3000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(process.env.PORT)}`)
  process.exit(1)
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

const app = await buildDemoApp({ logger: { level: process.env.LOG_LEVEL || 'info' } })

try {
  await app.listen({ host, port })
} catch (err) {
  app.log.error(err, 'could not start the demo server')
  process.exit(1)
}

const { port: actualPort } = app.server.address()
const urlHost = LOOPBACK.has(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host
console.log(`
fastify-login demo running at http://${urlHost}:${actualPort}/

Demo accounts:
${DEMO_CREDENTIALS.map((c) => `  ${c.username.padEnd(8)} ${c.password.padEnd(12)} ${c.note}`).join('\n')}

Press Ctrl+C to stop.
`)
if (!LOOPBACK.has(host)) {
  app.log.warn('the cookies are Secure: over plain HTTP, browsers keep them only for localhost; use HTTPS on other hosts')
}

let closing = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (closing) process.exit(1) // a second signal: stop now
    closing = true
    app.log.info({ signal }, 'closing the demo server')
    app.close().then(() => process.exit(0), (err) => {
      app.log.error(err, 'error while closing')
      process.exit(1)
    })
  })
}
