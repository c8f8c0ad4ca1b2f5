// Starts the demo: `npm start` (builds the package first), then open the URL it
// prints, http://localhost:3000/ by default.
// HOST (default localhost: both 127.0.0.1 and ::1 where the machine has them),
// PORT (default 3000), LOG_LEVEL (default info), SESSION_KEY and JWT_SECRET
// (default: development-only values) are read from the environment.
import { browserUrl, buildDemoApp, DemoConfigError, DEMO_CREDENTIALS, isLoopback } from './app.mjs'

/** A setup mistake: one line on stderr, exit code 1, no stack trace. */
function fail (message) {
  console.error(`fastify-login demo: ${message}`)
  process.exit(1)
}

const host = process.env.HOST || 'localhost'
const port = Number(process.env.PORT || 3000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(process.env.PORT)}`)
}

let app
try {
  app = await buildDemoApp({ logger: { level: process.env.LOG_LEVEL || 'info' } })
} catch (err) {
  // A DemoConfigError, or an option fastify-login refused (a SESSION_KEY or
  // JWT_SECRET that does not look random), names a setting to fix, in one
  // line. Anything else is a bug in the demo: print it whole, with its stack.
  const setting = err instanceof DemoConfigError || err?.code === 'FST_LOGIN_INVALID_OPTION'
  console.error(setting ? `fastify-login demo: ${err.message}` : err)
  process.exit(1)
}

try {
  // Fastify's "listening" lines name the sockets (127.0.0.1:3000, [::1]:3000),
  // not a URL: the one URL to open is printed below.
  await app.listen({ host, port, listenTextResolver: (address) => `listening on ${address.replace(/^https?:\/\//, '')}` })
} catch (err) {
  fail(`could not start the server: ${err.message}`) // the port is taken, HOST is not an address of this machine, ...
}

const { port: actualPort } = app.server.address()
console.log(`
fastify-login demo running at ${browserUrl(host, actualPort)}

Demo accounts:
${DEMO_CREDENTIALS.map((c) => `  ${c.username.padEnd(8)} ${c.password.padEnd(12)} ${c.note}`).join('\n')}

Press Ctrl+C to stop.
`)
if (!isLoopback(host)) {
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
