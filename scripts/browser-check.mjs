// Logs in to the demo in real browsers: `npm run check:browsers` (builds first).
//
// Starts the demo app in this process on a free port of localhost, then drives
// each browser that is installed (Chromium through CDP, Firefox through
// WebDriver BiDi, both with puppeteer-core and the system's own binaries:
// `apt-get install chromium firefox-esr`; nothing is downloaded). For each one:
//
//   http://localhost:PORT   the full flow: protected page → login form → log in
//                           with remember-me → back on the protected page →
//                           both __Host- cookies kept → reload → session cookie
//                           deleted, reload (remember-me logs in again) → logout
//   http://localhost:PORT   two devices: two separate browser contexts log in
//                           as the same user; the first opens /sessions
//                           (re-authenticating if asked; "Log out all other
//                           devices" first clears what earlier flows left),
//                           sees both sessions and logs the other out; the
//                           other's next page is the login page, the first
//                           stays logged in
//   http://127.0.0.1:PORT   a shorter flow: log in with remember-me, are the
//                           __Host- (Secure) cookies kept, reload
//
// One line per step, then a summary. A failure on localhost (the address the
// demo prints and the README documents) exits with code 1 and saves a
// screenshot; the 127.0.0.1 results are reported and do not fail the check.
// Only localhost and 127.0.0.1 are contacted: the browsers' own background
// requests (updates, sign-in, Remote Settings) go to a dead-end proxy in this
// process, which lists them. The whole run is bounded by a watchdog
// (CHECK_TIMEOUT_MS, default 120 s).
//
// BROWSERS=chromium or BROWSERS=firefox checks one of them; CHROMIUM_PATH and
// FIREFOX_PATH point at other binaries. `npm test` runs the Chromium flows of
// test/browser.test.ts (more of them, as tap tests) every time; this script is
// for Firefox and for a quick look at what the browsers do in the background.
// Both start the browsers with test/browser/launch.mjs.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDemoApp, DEMO_CREDENTIALS } from '../demo/app.mjs'
import { bodyText, CHROMIUM, FIREFOX, pathOf as path, sessionRows, startSinkProxy, watchOffsite } from '../test/browser/launch.mjs'

const TOTAL_TIMEOUT_MS = Number(process.env.CHECK_TIMEOUT_MS || 120_000)
const STEP_TIMEOUT_MS = 20_000
const SESSION_COOKIE = '__Host-session'
const REMEMBER_COOKIE = '__Host-remember_token'
const USER = DEMO_CREDENTIALS.find((c) => c.username === 'alice')
const USER_NAME = 'Alice Liddell'

const started = Date.now()
const seconds = () => ((Date.now() - started) / 1000).toFixed(1)

// How each browser is started (flags, prefs, the proxy that keeps it off the
// network) is shared with test/browser.test.ts: test/browser/launch.mjs.
const BROWSERS = [CHROMIUM, FIREFOX]

class StepFailure extends Error {}

function expect (condition, message) {
  if (!condition) throw new StepFailure(message)
}

/** Runs one browser over one origin, step by step. Returns { ok, failedStep, error, screenshot, cookies }. */
async function runFlow (browser, origin, steps, label, shotDir) {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
  const offsite = new Set()
  watchOffsite(page, origin, offsite)

  const devices = []
  const state = {
    page,
    origin,
    context,
    offsite,
    notes: {},
    /** A second "device": another browser context (its own cookies) and a page in it, closed with the flow. */
    async openDevice () {
      const device = await browser.createBrowserContext()
      devices.push(device)
      const other = await device.newPage()
      other.setDefaultTimeout(STEP_TIMEOUT_MS)
      other.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
      watchOffsite(other, origin, offsite)
      return other
    }
  }
  const result = { ok: true, steps: [], notes: state.notes }
  for (const [name, step] of steps) {
    try {
      const detail = await step(state)
      result.steps.push({ name, ok: true })
      console.log(`  ok    ${label}: ${name}${detail ? ` (${detail})` : ''}`)
    } catch (err) {
      result.ok = false
      result.failedStep = name
      result.error = err instanceof StepFailure ? err.message : `${err.name}: ${err.message}`
      console.log(`  FAIL  ${label}: ${name}: ${result.error}`)
      try {
        const path = join(shotDir, `${label.replace(/[^a-z0-9.]+/gi, '-')}.png`)
        await page.screenshot({ path, fullPage: true })
        result.screenshot = path
        console.log(`        screenshot: ${path} (page was ${page.url()})`)
      } catch (shotErr) {
        console.log(`        no screenshot: ${shotErr.message}`)
      }
      break
    }
  }
  if (offsite.size > 0) {
    result.ok = false
    result.error = `requests left ${origin}: ${[...offsite].join(', ')}`
    console.log(`  FAIL  ${label}: ${result.error}`)
  }
  for (const device of devices) await device.close().catch(() => {})
  await context.close().catch(() => {})
  return result
}

// --- the steps -----------------------------------------------------------

async function go (page, url) {
  const response = await page.goto(url, { waitUntil: 'load' })
  expect(response !== null, `no response for ${url}`)
  return response
}

async function cookieMap (state) {
  // page.cookies() asks the browser for the cookies it would send to this URL.
  const cookies = await state.page.cookies(state.origin + '/')
  return new Map(cookies.map((c) => [c.name, c]))
}

function describeCookie (c) {
  return `${c.name}: ${[c.secure && 'Secure', c.httpOnly && 'HttpOnly', c.sameSite && `SameSite=${c.sameSite}`, `path ${c.path}`,
    c.session ? 'session cookie' : `expires ${new Date(c.expires * 1000).toISOString().slice(0, 10)}`].filter(Boolean).join(', ')}`
}

async function expectLoggedIn (page, where) {
  const text = await bodyText(page)
  expect(text.includes(`Logged in as ${USER_NAME}`), `not logged in on ${where} (page says: ${text.split('\n').find((l) => /logged in/i.test(l)) ?? text.slice(0, 80)})`)
}

const openHome = ['open / (not logged in)', async ({ page, origin }) => {
  const response = await go(page, origin + '/')
  expect(response.status() === 200, `status ${response.status()}`)
  expect((await bodyText(page)).includes('Not logged in'), 'the home page does not say "Not logged in"')
  return `${response.status()}`
}]

const protectedRedirects = ['open /account → redirected to the login form', async ({ page, origin }) => {
  await go(page, origin + '/account')
  const at = path(page)
  expect(new URL(page.url()).pathname === '/login', `ended on ${at}, not /login`)
  expect(await page.$('form[action="/login"] input[name="username"]') !== null, 'no login form on the page')
  const next = await page.$eval('input[name="next"]', (el) => el.value)
  expect(next === '/account', `the form's next is ${JSON.stringify(next)}, not "/account"`)
  return at
}]

const logIn = ['log in as alice with remember-me → back on /account', async ({ page }) => {
  await page.type('#username', USER.username)
  await page.type('#password', USER.password)
  await page.click('#remember')
  expect(await page.$eval('#remember', (el) => el.checked), 'the remember-me box is not checked')
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action="/login"] button[type="submit"]')
  ])
  expect(path(page) === '/account', `ended on ${path(page)}, not /account`)
  await expectLoggedIn(page, '/account')
  const text = await bodyText(page)
  expect(/Fresh login\s+yes/.test(text), 'the login is not fresh')
  return path(page)
}]

const cookiesKept = ['browser kept __Host-session and __Host-remember_token', async (state) => {
  const cookies = await cookieMap(state)
  const names = [...cookies.keys()].join(', ') || 'none'
  state.notes.cookieNames = names
  state.notes.cookiesKept = cookies.has(SESSION_COOKIE) && cookies.has(REMEMBER_COOKIE)
  expect(cookies.has(SESSION_COOKIE), `no ${SESSION_COOKIE} cookie (cookies: ${names})`)
  expect(cookies.has(REMEMBER_COOKIE), `no ${REMEMBER_COOKIE} cookie (cookies: ${names})`)
  for (const name of [SESSION_COOKIE, REMEMBER_COOKIE]) {
    const c = cookies.get(name)
    expect(c.secure && c.httpOnly && c.path === '/' && !c.domain.startsWith('.'), `unexpected attributes: ${describeCookie(c)}`)
  }
  return `${describeCookie(cookies.get(SESSION_COOKIE))}; ${describeCookie(cookies.get(REMEMBER_COOKIE))}`
}]

const reloadStillIn = ['reload → still logged in', async ({ page }) => {
  const response = await page.reload({ waitUntil: 'load' })
  expect(response.status() === 200, `status ${response.status()}`)
  expect(path(page) === '/account', `ended on ${path(page)}`)
  await expectLoggedIn(page, '/account')
}]

const rememberRestores = ['delete __Host-session, reload → remember-me logs in again', async (state) => {
  const { page, origin } = state
  await page.deleteCookie({ name: SESSION_COOKIE, url: origin + '/' })
  const left = await cookieMap(state)
  expect(!left.has(SESSION_COOKIE), `${SESSION_COOKIE} is still there after deleting it`)
  expect(left.has(REMEMBER_COOKIE), `${REMEMBER_COOKIE} went too`)
  const response = await page.reload({ waitUntil: 'load' })
  expect(response.status() === 200, `status ${response.status()}`)
  expect(path(page) === '/account', `ended on ${path(page)} (remember-me did not restore the login)`)
  await expectLoggedIn(page, '/account')
  const text = await bodyText(page)
  expect(/Fresh login\s+no: it was restored from the remember-me cookie/.test(text), 'the page does not say the login was restored from the remember-me cookie')
  expect((await cookieMap(state)).has(SESSION_COOKIE), `no new ${SESSION_COOKIE} cookie after the restore`)
  return 'login not fresh, restored from the remember-me cookie; new session cookie set'
}]

const logOut = ['log out → logged out, remember cookie gone, /account redirects again', async (state) => {
  const { page, origin } = state
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action="/logout"] button[type="submit"]')
  ])
  expect(path(page) === '/', `ended on ${path(page)}, not /`)
  expect((await bodyText(page)).includes('Not logged in'), 'the page does not say "Not logged in" after logout')
  const cookies = await cookieMap(state)
  expect(!cookies.has(REMEMBER_COOKIE), `${REMEMBER_COOKIE} is still there after logout`)
  await go(page, origin + '/account')
  expect(new URL(page.url()).pathname === '/login', `/account after logout ended on ${path(page)}, not /login`)
  return `cookies left: ${[...cookies.keys()].join(', ') || 'none'}, without a user`
}]

/** Logs `page` in as alice from the login form, without remember-me; ends on /. */
async function logInFrom (page, origin) {
  await go(page, origin + '/login')
  await page.type('#username', USER.username)
  await page.type('#password', USER.password)
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action="/login"] button[type="submit"]')
  ])
  expect(path(page) === '/', `ended on ${path(page)}, not /`)
  await expectLoggedIn(page, '/')
}

/** Opens /sessions on `page`, confirming the password first if the demo asks; a note on what happened. */
async function openSessionsPage (page, origin) {
  await go(page, origin + '/sessions')
  let note = 'no re-authentication asked'
  if (new URL(page.url()).pathname === '/reauth') {
    await page.type('#password', USER.password)
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('form[action="/reauth"] button[type="submit"]')
    ])
    note = 're-authenticated first'
  }
  expect(path(page) === '/sessions', `ended on ${path(page)}, not /sessions`)
  return note
}

// The demo app is shared by the flows and the browsers, and the earlier flows
// leave sessions of alice behind (a session cookie deleted in the browser
// leaves its record until it times out): device A logs those out first.
const deviceALogsIn = ['device A logs in as alice, opens /sessions and logs out the earlier flows\' sessions', async ({ page, origin }) => {
  await logInFrom(page, origin)
  const note = await openSessionsPage(page, origin)
  const before = (await sessionRows(page)).length
  if (await page.$('form[action="/sessions/revoke-others"]') !== null) {
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('form[action="/sessions/revoke-others"] button[type="submit"]')
    ])
    const message = `Logged out ${before - 1} other device${before === 2 ? '' : 's'}.`
    expect((await bodyText(page)).includes(message), `no "${message}" message`)
  }
  const rows = await sessionRows(page)
  expect(rows.length === 1 && rows[0].text.includes('This device'), `${rows.length} sessions left, not this one alone`)
  return `${note}; ${before - 1} earlier session(s) ended`
}]

const deviceBLogsIn = ['device B (another browser context) logs in as alice; A\'s /sessions lists both, this device marked', async (state) => {
  const { page, origin } = state
  state.deviceB = await state.openDevice()
  await logInFrom(state.deviceB, origin)
  const names = (await state.deviceB.cookies(origin + '/')).map((c) => c.name)
  expect(names.includes(SESSION_COOKIE), `device B has no ${SESSION_COOKIE} cookie (cookies: ${names.join(', ') || 'none'})`)
  const note = await openSessionsPage(page, origin)
  const rows = await sessionRows(page)
  expect(rows.length === 2, `${rows.length} sessions listed, not 2`)
  const here = rows.filter((row) => row.text.includes('This device'))
  expect(here.length === 1 && !here[0].revocable, 'this device is not marked once, without a button')
  expect(rows.filter((row) => row.revocable).length === 1, 'the other session has no "Log out this device" button')
  return note
}]

const endOtherDevice = ['device A logs out device B', async ({ page }) => {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action="/sessions/revoke"] button[type="submit"]')
  ])
  expect(path(page) === '/sessions', `ended on ${path(page)}, not /sessions`)
  const text = await bodyText(page)
  expect(text.includes('Logged out 1 device.'), 'no "Logged out 1 device." message')
  const rows = await sessionRows(page)
  expect(rows.length === 1 && rows[0].text.includes('This device'), `${rows.length} sessions left, not this one alone`)
}]

const otherDeviceOut = ['device B\'s next navigation lands on the login page; device A stays in', async ({ page, origin, deviceB }) => {
  await go(deviceB, origin + '/account')
  expect(new URL(deviceB.url()).pathname === '/login', `device B ended on ${path(deviceB)}, not /login`)
  expect((await bodyText(deviceB)).includes('Not logged in'), 'device B\'s page does not say "Not logged in"')
  await go(page, origin + '/account')
  expect(path(page) === '/account', `device A ended on ${path(page)}, not /account`)
  await expectLoggedIn(page, '/account')
  return `device B at ${path(deviceB)}`
}]

const TWO_DEVICES = [deviceALogsIn, deviceBLogsIn, endOtherDevice, otherDeviceOut]
const FULL_FLOW = [openHome, protectedRedirects, logIn, cookiesKept, reloadStillIn, rememberRestores, logOut]
const SHORT_FLOW = [protectedRedirects, logIn, cookiesKept, reloadStillIn]

// --- main ----------------------------------------------------------------

async function main () {
  const only = process.env.BROWSERS ? process.env.BROWSERS.split(',').map((s) => s.trim()) : null
  const shotDir = mkdtempSync(join(tmpdir(), 'fastify-login-browser-check-'))
  const sink = await startSinkProxy()
  const app = await buildDemoApp({ logger: false })
  await app.listen({ host: 'localhost', port: 0 })
  const { port } = app.server.address()
  const origins = [
    { name: 'localhost', origin: `http://localhost:${port}`, steps: FULL_FLOW, required: true },
    { name: 'localhost two devices', origin: `http://localhost:${port}`, steps: TWO_DEVICES, required: true },
    { name: '127.0.0.1', origin: `http://127.0.0.1:${port}`, steps: SHORT_FLOW, required: false }
  ]
  console.log(`node ${process.version}; demo listening on ${app.addresses().map((a) => `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`).join(', ')}`)

  const summary = []
  let launched = 0
  try {
    for (const spec of BROWSERS) {
      if (only !== null && !only.includes(spec.name)) continue
      const executablePath = spec.executablePath()
      if (executablePath === undefined) {
        console.log(`\n${spec.name}: not installed, skipped`)
        summary.push({ browser: spec.name, version: 'not installed' })
        continue
      }
      let started
      try {
        started = await spec.launch({ executablePath, proxyPort: sink.port, timeout: STEP_TIMEOUT_MS })
      } catch (err) {
        console.log(`\n${spec.name}: could not start ${executablePath}: ${err.message.split('\n')[0]}`)
        summary.push({ browser: spec.name, version: 'failed to start', results: origins.map((o) => ({ ...o, ok: false, error: 'browser did not start' })) })
        continue
      }
      launched++
      const { browser, version } = started
      console.log(`\n${spec.name}: ${version} (${executablePath})`)
      const entry = { browser: spec.name, version, results: [] }
      summary.push(entry)
      try {
        for (const o of origins) {
          const result = await runFlow(browser, o.origin, o.steps, `${spec.name} ${o.name}`, shotDir)
          entry.results.push({ ...o, ...result })
        }
      } finally {
        await started.close()
      }
      entry.background = sink.take()
      console.log(`  background requests stopped at the sink proxy: ${entry.background || 'none'}`)
    }
  } finally {
    await app.close()
    await sink.close()
    if (readdirSync(shotDir).length === 0) rmSync(shotDir, { recursive: true, force: true })
  }

  console.log(`\nSummary (${seconds()} s):`)
  let failed = false
  for (const { browser, version, results = [] } of summary) {
    if (results.length === 0) { console.log(`  ${browser}: ${version}`); continue }
    for (const r of results) {
      const cookies = r.notes?.cookiesKept === undefined ? '' : r.notes.cookiesKept ? ', __Host- cookies kept' : `, __Host- cookies NOT kept (browser has: ${r.notes.cookieNames})`
      const verdict = r.ok ? `passed (${r.steps.length} steps${cookies})` : `${r.required ? 'FAILED' : 'failed (informational)'} at "${r.failedStep ?? 'request check'}": ${r.error}${cookies}`
      console.log(`  ${browser} ${version} on ${r.origin}${r.name.endsWith('two devices') ? ', two devices' : ''}: ${verdict}`)
      if (!r.ok && r.required) failed = true
    }
  }
  if (launched === 0) {
    console.log('  no browser could be run: apt-get install chromium firefox-esr')
    failed = true
  }
  console.log(failed ? 'browser check FAILED' : 'browser check passed')
  return failed ? 1 : 0
}

const watchdog = setTimeout(() => {
  console.log(`browser check FAILED: still running after ${TOTAL_TIMEOUT_MS / 1000} s, giving up`)
  process.exit(1) // puppeteer kills the browsers it launched when this process exits
}, TOTAL_TIMEOUT_MS)
watchdog.unref()

main().then((code) => {
  clearTimeout(watchdog)
  process.exitCode = code
}, (err) => {
  console.error(err)
  process.exit(1)
})
