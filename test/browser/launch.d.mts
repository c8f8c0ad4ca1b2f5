// Types of test/browser/launch.mjs, for test/browser.test.ts.
import type { Browser, HTTPResponse, Page } from 'puppeteer-core'

export interface StartedBrowser {
  readonly browser: Browser
  /** What the browser reports, such as "Chrome/156.0.8078.114". */
  readonly version: string
  /** Closes the browser and deletes its temporary profile; never rejects. */
  close (): Promise<void>
}

export interface LaunchOptions {
  executablePath: string
  /** The port of the sink proxy on 127.0.0.1 (startSinkProxy). */
  proxyPort: number
  /** How long the browser may take to start, in ms. */
  timeout: number
}

export interface BrowserSpec {
  readonly name: 'chromium' | 'firefox'
  /** The binary to run, from the environment or the usual Debian path; undefined when none exists. */
  executablePath (): string | undefined
  launch (options: LaunchOptions): Promise<StartedBrowser>
}

export declare const CHROMIUM: BrowserSpec
export declare const FIREFOX: BrowserSpec

export interface SinkProxy {
  readonly port: number
  /** The hosts asked for since the last call, as "host ×n, ...", or ''. */
  take (): string
  close (): Promise<void>
}

export declare function startSinkProxy (): Promise<SinkProxy>
export declare function watchOffsite (page: Page, origin: string, offsite: Set<string>): void

export declare function bodyText (page: Page): Promise<string>
export declare function pathOf (page: Page): string
export declare function fieldValue (page: Page, selector: string): Promise<string>
export declare function isChecked (page: Page, selector: string): Promise<boolean>
export declare function submitForm (page: Page, action: string): Promise<HTTPResponse | null>
export declare function sessionRows (page: Page): Promise<Array<{ text: string, revocable: boolean }>>
