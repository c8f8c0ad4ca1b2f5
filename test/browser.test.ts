import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { BrowserContext, Cookie, Page } from 'puppeteer-core'

/*
 * The demo in a real browser: Debian's Chromium (/usr/bin/chromium, or
 * CHROMIUM_PATH), driven by puppeteer-core. Each flow gets its own demo app on
 * a free port of 127.0.0.1, opened as http://localhost:PORT (the address the
 * demo documents; Chromium keeps the Secure __Host- cookies there over plain
 * HTTP), and its own browser contexts (separate cookie jars: separate
 * devices). The browser talks to loopback only (test/browser/launch.mjs).
 *
 * Each step is a subtest; after a failed step the flow stops, and a screenshot
 * of every page of the flow is saved (the path is printed as a comment of the
 * flow) in test-artifacts/browser/, or BROWSER_TEST_ARTIFACTS.
 *
 * The demo imports the built package ('fastify-login' → dist/): `npm test`
 * builds first; run `npm run build` before running this file on its own.
 */

type Launch = typeof import('./browser/launch.mjs')
type Demo = typeof import('../demo/app.mjs')
// Dynamic imports: both are ES modules, and the tests are compiled to CommonJS.
const loadLaunch = (): Promise<Launch> => import('./browser/launch.mjs')
const loadDemo = (): Promise<Demo> => import('../demo/app.mjs')

const STEP_TIMEOUT_MS = 15_000
const LAUNCH_TIMEOUT_MS = 30_000
t.setTimeout(180_000)

const SESSION = '__Host-session'
const REMEMBER = '__Host-remember_token'
const ALICE = { username: 'alice', password: 'wonderland', name: 'Alice Liddell' }
const ARTIFACTS = resolve(process.env.BROWSER_TEST_ARTIFACTS ?? join(__dirname, '..', 'test-artifacts', 'browser'))
const MISSING = process.env.CHROMIUM_PATH !== undefined && process.env.CHROMIUM_PATH !== ''
  ? `CHROMIUM_PATH is ${process.env.CHROMIUM_PATH}, and there is no such file: the browser test needs Chromium`
  : 'Chromium is not installed (no /usr/bin/chromium): the browser test needs it. ' +
    'Debian: apt-get install --no-install-recommends chromium (.ci/run installs it), or set CHROMIUM_PATH'

let lib: Launch
let demo: Demo
let chromium: Awaited<ReturnType<Launch['CHROMIUM']['launch']>>
let proxy: Awaited<ReturnType<Launch['startSinkProxy']>>

t.before(async () => {
  lib = await loadLaunch()
  demo = await loadDemo()
  const executablePath = lib.CHROMIUM.executablePath()
  if (executablePath === undefined) throw new Error(MISSING)
  proxy = await lib.startSinkProxy()
  t.teardown(() => proxy.close())
  chromium = await lib.CHROMIUM.launch({ executablePath, proxyPort: proxy.port, timeout: LAUNCH_TIMEOUT_MS })
  t.teardown(() => chromium.close())
  t.comment(`${chromium.version} (${executablePath})`)
})

/** One flow: its own demo app, and pages in their own browser contexts ("devices"). */
interface Flow {
  origin: string
  app: FastifyInstance
  /** The paths of the GET requests the app answered, in order. */
  served: string[]
  /** The URLs the flow's pages asked for that are not on `origin` (there must be none). */
  offsite: Set<string>
  /** Device A's page. */
  page: Page
  /** A page in a new browser context: another device, with no cookies. */
  device: () => Promise<Page>
}

async function openFlow (t: Test, pages: Page[]): Promise<Flow> {
  const app = await demo.buildDemoApp()
  const served: string[] = []
  app.addHook('onRequest', async (request) => { if (request.method === 'GET') served.push(request.url) })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://localhost:${(app.server.address() as AddressInfo).port}`
  const offsite = new Set<string>()
  const contexts: BrowserContext[] = []
  t.teardown(async () => { for (const context of contexts) await context.close().catch(() => {}) })
  const device = async (): Promise<Page> => {
    const context = await chromium.browser.createBrowserContext()
    contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
    lib.watchOffsite(page, origin, offsite)
    pages.push(page)
    return page
  }
  return { origin, app, served, offsite, page: await device(), device }
}

type Step = [name: string, run: (t: Test, flow: Flow) => Promise<void>]

/**
 * Runs the steps of one flow in order, each as a subtest, and stops at the
 * first that fails: then every page of the flow is saved as a screenshot.
 */
function flow (name: string, steps: Step[]): void {
  t.test(name, async (t) => {
    removeScreenshots(name) // of an earlier run
    const pages: Page[] = []
    const f = await openFlow(t, pages)
    for (const [stepName, run] of steps) {
      await t.test(stepName, (st) => run(st, f))
      if (!t.passing()) {
        t.comment(`stopped after the failed step "${stepName}"; ${await screenshots(name, pages)}`)
        break
      }
    }
    t.same([...f.offsite], [], `the pages asked for nothing but ${f.origin}`)
  })
}

const slugOf = (flowName: string): string => flowName.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()

function removeScreenshots (flowName: string): void {
  const prefix = `${slugOf(flowName)}-page`
  let names: string[]
  try {
    names = readdirSync(ARTIFACTS)
  } catch {
    return // no folder yet
  }
  for (const name of names) if (name.startsWith(prefix) && name.endsWith('.png')) rmSync(join(ARTIFACTS, name))
}

async function screenshots (flowName: string, pages: Page[]): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const slug = slugOf(flowName)
  const saved: string[] = []
  for (const [i, page] of pages.entries()) {
    const path = join(ARTIFACTS, `${slug}-page${i + 1}.png`)
    try {
      await page.screenshot({ path, fullPage: true })
      saved.push(`${path} (at ${page.url()})`)
    } catch (err) {
      saved.push(`no screenshot of page ${i + 1}: ${(err as Error).message}`)
    }
  }
  return `screenshots: ${saved.join(', ')}`
}

// --- helpers ---------------------------------------------------------------

async function go (t: Test, page: Page, url: string, status = 200): Promise<void> {
  const response = await page.goto(url, { waitUntil: 'load' })
  t.equal(response?.status(), status, `GET ${new URL(url).pathname}: ${status}`)
}

async function cookies (page: Page, origin: string): Promise<Map<string, Cookie>> {
  // The cookies the browser would send to the origin.
  return new Map((await page.cookies(origin + '/')).map((c) => [c.name, c]))
}

async function showsUser (t: Test, page: Page, shows: boolean): Promise<void> {
  const text = await lib.bodyText(page)
  if (shows) {
    t.match(text, `Logged in as ${ALICE.name}`, 'the page shows alice logged in')
  } else {
    t.notMatch(text, ALICE.name, 'nothing of alice is on the page')
    t.match(text, 'Not logged in', 'the page says "Not logged in"')
  }
}

/** Fills in the login form the page shows and sends it. */
async function submitLogin (t: Test, page: Page, { remember }: { remember: boolean }): Promise<void> {
  await page.type('#username', ALICE.username)
  await page.type('#password', ALICE.password)
  if (remember) await page.click('#remember')
  t.equal(await lib.isChecked(page, '#remember'), remember, `the remember-me box is ${remember ? '' : 'not '}ticked`)
  await lib.submitForm(page, '/login')
}

/** Logs `page` in as alice from /login; ends on /. */
async function logIn (t: Test, page: Page, origin: string, remember: boolean): Promise<void> {
  await go(t, page, origin + '/login')
  await submitLogin(t, page, { remember })
  t.equal(lib.pathOf(page), '/', 'back on the home page')
  await showsUser(t, page, true)
}

/** Logs in with remember-me, then deletes the session cookie alone: the browser session is over. */
async function endBrowserSession (t: Test, { page, origin }: Flow): Promise<string> {
  await logIn(t, page, origin, true)
  const before = await cookies(page, origin)
  t.ok(before.has(SESSION) && before.has(REMEMBER), 'both __Host- cookies are kept on http://localhost')
  await page.deleteCookie({ name: SESSION, url: origin + '/' })
  const after = await cookies(page, origin)
  t.notOk(after.has(SESSION), `${SESSION} is deleted`)
  t.ok(after.has(REMEMBER), `${REMEMBER} is still there`)
  return before.get(REMEMBER)?.value ?? ''
}

// --- the flows ---------------------------------------------------------------

flow('a. log in through the form and come back to the page asked for', [
  ['open /account logged out: redirected to the login form, with next=/account', async (t, { page, origin }) => {
    await go(t, page, origin + '/account')
    t.equal(lib.pathOf(page), '/login?next=%2Faccount', 'on the login page, with next')
    t.equal(await lib.fieldValue(page, 'form[action="/login"] input[name="next"]'), '/account', 'the form carries next=/account')
    t.match(await lib.bodyText(page), 'Please log in to access this page.', 'the guard\'s message is shown')
    await showsUser(t, page, false)
  }],
  ['submit the form as alice: back on /account, showing her', async (t, { page, origin }) => {
    await submitLogin(t, page, { remember: false })
    t.equal(lib.pathOf(page), '/account', 'back on /account')
    await showsUser(t, page, true)
    t.match(await lib.bodyText(page), /Fresh login\s+yes/, 'the login is fresh')
    const jar = await cookies(page, origin)
    t.ok(jar.get(SESSION)?.secure === true && jar.get(SESSION)?.httpOnly === true, `${SESSION} is kept, Secure and HttpOnly`)
    t.notOk(jar.has(REMEMBER), 'no remember-me cookie without the box ticked')
  }],
  ['reload: still logged in', async (t, { page }) => {
    const response = await page.reload({ waitUntil: 'load' })
    t.equal(response?.status(), 200)
    t.equal(lib.pathOf(page), '/account')
    await showsUser(t, page, true)
  }]
])

let firstRemember = ''
flow('b. remember-me logs in again after the session cookie is dropped', [
  ['log in with remember-me, then delete only the session cookie', async (t, f) => {
    firstRemember = await endBrowserSession(t, f)
    t.not(firstRemember, '', 'a remember-me cookie was set')
  }],
  ['reload /account: still logged in, not fresh, and a new session cookie is set', async (t, { page, origin }) => {
    await go(t, page, origin + '/account')
    t.equal(lib.pathOf(page), '/account', 'not sent to the login page')
    await showsUser(t, page, true)
    t.match(await lib.bodyText(page), /Fresh login\s+no: it was restored from the remember-me cookie/, 'the login is not fresh: restored by remember-me')
    const jar = await cookies(page, origin)
    t.ok(jar.has(SESSION), `a new ${SESSION} cookie is set`)
    t.ok(jar.has(REMEMBER), `${REMEMBER} is kept`)
    t.not(jar.get(REMEMBER)?.value, firstRemember, 'the remember-me cookie was rotated')
  }],
  ['reload again: logged in by the new session cookie', async (t, { page }) => {
    await page.reload({ waitUntil: 'load' })
    t.equal(lib.pathOf(page), '/account')
    await showsUser(t, page, true)
  }]
])

flow('c. the fresh-login page asks to re-authenticate after a remember-me restore', [
  ['right after the password login, /settings opens', async (t, { page, origin }) => {
    await logIn(t, page, origin, true)
    await go(t, page, origin + '/settings')
    t.equal(lib.pathOf(page), '/settings', 'on /settings')
    t.equal(await lib.fieldValue(page, '#name'), ALICE.name, 'the settings form shows her name')
  }],
  ['session cookie dropped, /settings: asked for the password on /reauth, with next=/settings', async (t, f) => {
    const { page, origin } = f
    await page.deleteCookie({ name: SESSION, url: origin + '/' })
    t.ok((await cookies(page, origin)).has(REMEMBER), `${REMEMBER} is still there`)
    await go(t, page, origin + '/settings')
    t.equal(lib.pathOf(page), '/reauth?next=%2Fsettings', 'on the re-authentication page, with next')
    const text = await lib.bodyText(page)
    t.match(text, 'Please reauthenticate to access this page.', 'the guard\'s message is shown')
    t.match(text, 'Yours is not fresh: it was restored from the remember-me cookie', 'the page says why')
    await showsUser(t, page, true)
  }],
  ['confirm the password: on /settings', async (t, { page }) => {
    await page.type('#password', ALICE.password)
    await lib.submitForm(page, '/reauth')
    t.equal(lib.pathOf(page), '/settings', 'back on /settings')
    t.equal(await lib.fieldValue(page, '#name'), ALICE.name, 'the settings form shows her name')
  }]
])

let deviceB: Page
flow('d. the sessions page ends another device\'s session', [
  ['devices A and B (two browser contexts) log in as alice', async (t, f) => {
    await logIn(t, f.page, f.origin, false)
    deviceB = await f.device()
    await logIn(t, deviceB, f.origin, false)
    t.ok((await cookies(deviceB, f.origin)).has(SESSION), 'device B has its own session cookie')
  }],
  ['A opens /sessions: both listed, A marked "This device"', async (t, { page, origin }) => {
    await go(t, page, origin + '/sessions')
    t.equal(lib.pathOf(page), '/sessions', 'no re-authentication asked: A just logged in')
    const rows = await lib.sessionRows(page)
    t.equal(rows.length, 2, 'two sessions')
    t.equal(rows.filter((row) => row.text.includes('This device') && !row.revocable).length, 1, 'this device marked once, without a button')
    t.equal(rows.filter((row) => row.revocable).length, 1, 'the other one has "Log out this device"')
  }],
  ['A logs B out', async (t, { page }) => {
    await lib.submitForm(page, '/sessions/revoke')
    t.equal(lib.pathOf(page), '/sessions', 'back on /sessions')
    t.match(await lib.bodyText(page), 'Logged out 1 device.')
    const rows = await lib.sessionRows(page)
    t.equal(rows.length, 1, 'one session left')
    t.match(rows[0]?.text, 'This device', 'A\'s own')
  }],
  ['B\'s next page load is the login page; A stays logged in', async (t, { page, origin }) => {
    await go(t, deviceB, origin + '/account')
    t.equal(lib.pathOf(deviceB), '/login?next=%2Faccount', 'B is on the login page')
    await showsUser(t, deviceB, false)
    await go(t, page, origin + '/account')
    t.equal(lib.pathOf(page), '/account', 'A is still on /account')
    await showsUser(t, page, true)
  }]
])

flow('e. after logout, the back button does not show the protected page', [
  ['log in, open /account', async (t, { page, origin }) => {
    await logIn(t, page, origin, true)
    await go(t, page, origin + '/account')
    t.match(await lib.bodyText(page), /Username\s+alice/, 'her account page')
  }],
  ['log out: on the home page, logged out', async (t, { page, origin }) => {
    await lib.submitForm(page, '/logout')
    t.equal(lib.pathOf(page), '/', 'on /')
    await showsUser(t, page, false)
    t.notOk((await cookies(page, origin)).has(REMEMBER), 'the remember-me cookie is gone')
  }],
  ['back button: /account is asked for again and redirects to the login page, nothing of alice shown', async (t, { page, served }) => {
    const before = served.length
    await page.goBack({ waitUntil: 'load' })
    // no-store on the demo's pages keeps the logged-in copy out of the back-forward cache.
    t.same(served.slice(before, before + 1), ['/account'], 'the browser asked the server for /account again')
    t.equal(lib.pathOf(page), '/login?next=%2Faccount', 'on the login page')
    await showsUser(t, page, false)
    t.notMatch(await lib.bodyText(page), /Username\s+alice/, 'her account table is not shown')
  }]
])
