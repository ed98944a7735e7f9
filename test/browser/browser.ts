/** Shared by the browser tests: headless Debian chromium through playwright-core, and the node's token. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import type { GridNode } from '../../src/devnet/index.ts'

export const CHROMIUM = '/usr/bin/chromium'

/**
 * Headless chromium gives pages and workers no WebGPU adapter; `--enable-unsafe-webgpu` alone gives
 * one on its own SwiftShader (adapter vendor "google", architecture "swiftshader", a fallback adapter),
 * with no GPU and no other flag or VK_ICD_FILENAMES (chromium 156, Debian 12; `--enable-features=Vulkan`,
 * `--use-vulkan=swiftshader`, `--use-angle=swiftshader` and `--use-webgpu-adapter=swiftshader` change nothing).
 * Pages must come from a secure context (http://127.0.0.1 is one): `navigator.gpu` is absent elsewhere.
 */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu']

export async function launchChromium (options: { webgpu?: boolean } = {}): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: options.webgpu === true ? WEBGPU_FLAGS : [] })
}

/** The node's API token, as the node keeps it in its data dir. */
export async function apiToken (node: GridNode): Promise<string> {
  return (await readFile(join(node.dataDir, 'api-token'), 'utf8')).trim()
}

/** The URL of a node's dashboard, carrying its API token in the fragment (never sent to the server). */
export async function dashboardUrl (node: GridNode): Promise<string> {
  return `${node.client.url}/#token=${await apiToken(node)}`
}

/** The provide link as the node's dashboard hands it out. */
export async function provideLink (browser: Browser, node: GridNode): Promise<string> {
  const page = await browser.newPage()
  await page.goto(await dashboardUrl(node))
  const link = page.locator('#provide-link[href*="#token="]')
  await link.waitFor({ state: 'attached' })
  const href = new URL(await link.getAttribute('href') ?? '', node.client.url).href
  await page.close()
  return href
}
