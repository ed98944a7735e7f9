/** Shared by the browser tests: headless Debian chromium through playwright-core, and the node's token. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import type { GridNode } from '../../src/devnet/index.ts'

export const CHROMIUM = '/usr/bin/chromium'

export async function launchChromium (): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM })
}

/** The URL of a node's page, carrying its API token in the fragment (never sent to the server). */
export async function pageUrl (node: GridNode, path: '/' | '/provide'): Promise<string> {
  const token = (await readFile(join(node.dataDir, 'api-token'), 'utf8')).trim()
  return `${node.client.url}${path}#token=${token}`
}
