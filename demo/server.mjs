// Starts the demo: `npm start` (builds the package first), then open the URL it prints.
// HOST (default 127.0.0.1), PORT (default 3000), LOG_LEVEL (default info),
// SESSION_KEY and JWT_SECRET (default: development-only values) are read from
// the environment.
import { buildDemoApp, DemoConfigError, DEMO_CREDENTIALS } from './app.mjs'

/** A setup mistake: one line on stderr, exit code 1, no stack trace. */
function fail (message) {
  console.error(`fastify-login demo: ${message}`)
  process.exit(1)
}

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 3000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(process.env.PORT)}`)
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

let app
try {
  app = await buildDemoApp({ logger: { level: process.env.LOG_LEVEL || 'info' } })
} catch (err) {
  // A DemoConfigError names a setting to fix, in one line. Anything else is a
  // bug in the demo: print it whole, with its stack trace.
  console.error(err instanceof DemoConfigError ? `fastify-login demo: ${err.message}` : err)
  process.exit(1)
}

try {
  await app.listen({ host, port })
} catch (err) {
  fail(`could not start the server: ${err.message}`) // the port is taken, HOST is not an address of this machine, ...
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
  process.on(signal, async () => {
    if (closing) process.exit(1) // a second signal: stop now
    closing = true
    app.log.info({ signal }, 'closing the demo server')
    // Should closing fail, the rejection is unhandled: Node prints it and exits with code 1.
    await app.close()
    process.exit(0)
  })
}
