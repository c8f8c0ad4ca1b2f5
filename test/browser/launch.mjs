// Starting real browsers for the demo's browser tests, shared by
// test/browser.test.ts (Chromium, part of `npm test`) and
// scripts/browser-check.mjs (Chromium and Firefox, `npm run check:browsers`).
//
// The browsers are the system's own binaries (Debian: `apt-get install
// chromium firefox-esr`), driven by puppeteer-core: nothing is downloaded.
// They talk to loopback only: every other request (updates, sign-in, Remote
// Settings and the like) goes to a dead-end proxy in this process, which
// records it, and Chromium resolves no other host name at all.

import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer from 'puppeteer-core'

/**
 * The browser binary: `override` (from the environment) when it is set, else
 * the first of `paths` that exists; undefined when that file does not exist.
 * A set override is never passed over: a typo must not test another browser.
 */
function binary (override, ...paths) {
  if (override !== undefined && override !== '') return existsSync(override) ? override : undefined
  return paths.find((path) => existsSync(path))
}

/** A started browser and a close() that also deletes its temporary profile. */
async function started (browser, userDataDir) {
  return {
    browser,
    version: await browser.version(),
    async close () {
      await browser.close().catch(() => {})
      if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
    }
  }
}

export const CHROMIUM = {
  name: 'chromium',
  /** CHROMIUM_PATH when set, else Debian's /usr/bin/chromium; undefined when that does not exist. */
  executablePath: () => binary(process.env.CHROMIUM_PATH, '/usr/bin/chromium'),
  async launch ({ executablePath, proxyPort, timeout }) {
    const userDataDir = mkdtempSync(join(tmpdir(), 'fastify-login-chromium-profile-'))
    try {
      const browser = await puppeteer.launch({
        browser: 'chrome',
        executablePath,
        headless: true,
        userDataDir,
        timeout,
        // Root needs --no-sandbox. The rest keep Chromium from calling home.
        // Whatever background request is left goes to the sink proxy (loopback
        // is never proxied), and no host name but localhost is resolved.
        args: [
          '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--disable-default-apps', '--disable-domain-reliability', '--no-pings',
          `--proxy-server=http://127.0.0.1:${proxyPort}`,
          '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
          `--user-data-dir=${userDataDir}`
        ]
      })
      return await started(browser, userDataDir)
    } catch (err) {
      rmSync(userDataDir, { recursive: true, force: true })
      throw err
    }
  }
}

export const FIREFOX = {
  name: 'firefox',
  /** FIREFOX_PATH when set, else Debian's firefox-esr or firefox; undefined when none exists. */
  executablePath: () => binary(process.env.FIREFOX_PATH, '/usr/bin/firefox-esr', '/usr/bin/firefox'),
  async launch ({ executablePath, proxyPort, timeout }) {
    const browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath,
      headless: true,
      timeout,
      // Lets services.settings.server below take effect (release builds ignore it otherwise).
      env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
      // puppeteer's own Firefox profile (a temporary one it deletes) already
      // turns off updates, telemetry, safe browsing and the like; these turn
      // off more, and send whatever background request is left to the sink
      // proxy (localhost and 127.0.0.1 are never proxied), so that Firefox
      // resolves no other host name.
      extraPrefsFirefox: {
        'network.proxy.type': 1,
        'network.proxy.http': '127.0.0.1',
        'network.proxy.http_port': proxyPort,
        'network.proxy.ssl': '127.0.0.1',
        'network.proxy.ssl_port': proxyPort,
        'network.proxy.no_proxies_on': 'localhost, 127.0.0.1',
        'network.proxy.allow_hijacking_localhost': false,
        'services.settings.server': `http://127.0.0.1:${proxyPort}/remote-settings/v1`,
        'network.dns.disablePrefetch': true,
        'network.prefetch-next': false,
        'network.predictor.enabled': false,
        'network.trr.mode': 5,
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
        'browser.region.network.url': '',
        'browser.region.update.enabled': false,
        'browser.topsites.contile.enabled': false,
        'media.gmp-manager.updateEnabled': false,
        'extensions.systemAddon.update.enabled': false,
        'security.OCSP.enabled': 0,
        'security.remote_settings.crlite_filters.enabled': false
      }
    })
    return started(browser, undefined)
  }
}

/**
 * The browsers' proxy for everything but loopback: it answers every request
 * with 502 (and every CONNECT with 403) and records the host the browser
 * wanted, so background traffic shows and goes nowhere else.
 */
export async function startSinkProxy () {
  const seen = new Map()
  const record = (target) => {
    // A proxied request names its URL; Firefox's Remote Settings, pointed here, ask for a path.
    const host = URL.canParse(target) ? new URL(target).host : target.startsWith('/remote-settings/') ? 'Remote Settings (sent here)' : target.split('?')[0]
    seen.set(host, (seen.get(host) ?? 0) + 1)
  }
  const server = createServer((request, response) => {
    record(request.url)
    response.writeHead(502, { connection: 'close' }).end()
  })
  server.on('connect', (request, socket) => {
    record(`https://${request.url}`)
    socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n')
  })
  server.on('clientError', (_err, socket) => socket.destroy())
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    take () {
      const text = [...seen].map(([host, n]) => `${host} ×${n}`).join(', ')
      seen.clear()
      return text
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) })
  }
}

/**
 * Records every request of `page` that leaves `origin` (data: URLs and
 * about:blank aside) into the set `offsite`.
 */
export function watchOffsite (page, origin, offsite) {
  page.on('request', (request) => {
    const url = request.url()
    if (!url.startsWith(origin) && !url.startsWith('data:') && url !== 'about:blank') offsite.add(url)
  })
}

// --- page helpers (the DOM code lives here: the TypeScript tests have no DOM types) ---

/** The text the page shows. */
export const bodyText = (page) => page.evaluate(() => document.body.innerText)

/** Path and query of the page's URL. */
export function pathOf (page) {
  const url = new URL(page.url())
  return url.pathname + url.search
}

/** The value of the form field `selector`. */
export const fieldValue = (page, selector) => page.$eval(selector, (el) => el.value)

/** Whether the checkbox `selector` is checked. */
export const isChecked = (page, selector) => page.$eval(selector, (el) => el.checked)

/** Clicks the submit button of `form[action=action]` (the first one) and waits for the page it leads to. */
export async function submitForm (page, action) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click(`form[action="${action}"] button[type="submit"]`)
  ])
  return response
}

/** The rows of the demo's sessions table: their text, and whether they have a "Log out this device" button. */
export const sessionRows = (page) => page.$$eval('table tr', (rows) => rows.slice(1).map((row) => ({
  text: row.innerText,
  revocable: row.querySelector('form[action="/sessions/revoke"] button') !== null
})))
