import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { access, mkdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ConunError } from '../util/index.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
/** Where `npm run build:web` (Vite) puts the dashboard and the browser provider. */
export const WEB_BUILD_DIR = join(ROOT, 'build', 'web')
const LOCK_DIR = `${WEB_BUILD_DIR}.lock`
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 120_000

export class WebBundleError extends ConunError {
  override readonly name = 'WebBundleError'
  readonly code = 'web-bundle-missing'
  readonly kind = 'unavailable'
}

/**
 * True when build/web was made from the source files as they are now: sources.json lists every
 * project file Vite bundled, with its hash.
 */
export async function isWebBundleCurrent (dir = WEB_BUILD_DIR): Promise<boolean> {
  let recorded: { files: Record<string, string> }
  try {
    recorded = JSON.parse(await readFile(join(dir, 'sources.json'), 'utf8')) as typeof recorded
  } catch {
    return false
  }
  for (const [path, hash] of Object.entries(recorded.files)) {
    const bytes = await readFile(join(ROOT, path)).catch(() => undefined)
    if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== hash) return false
  }
  return true
}

/** Runs Vite (a dev dependency) into a fresh folder, then swaps it in, so a node never serves a half-written bundle. */
export async function buildWebBundle (log: (line: string) => void = () => {}): Promise<void> {
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js')
  await access(vite).catch(() => {
    throw new WebBundleError('the web bundle is missing and Vite is not installed: run npm install && npm run build:web')
  })
  const temp = `${WEB_BUILD_DIR}-${process.pid}`
  log('building the web dashboard (vite)…')
  const output: string[] = []
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', join(ROOT, 'src', 'web', 'vite.config.ts')], {
      cwd: ROOT,
      env: { ...process.env, CONUN_WEB_OUT_DIR: temp },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', chunk => output.push(String(chunk)))
    child.stderr.on('data', chunk => output.push(String(chunk)))
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) {
    await rm(temp, { recursive: true, force: true })
    throw new WebBundleError(`vite build failed (exit ${code}):\n${output.join('')}`)
  }
  await rm(WEB_BUILD_DIR, { recursive: true, force: true })
  await rename(temp, WEB_BUILD_DIR)
}

let current: Promise<string> | undefined

/**
 * The bundle's folder, built first when missing or made from other sources. Nodes started together
 * (a local grid) take a lock, so one builds and the others wait for it. Checked once per process.
 */
export function ensureWebBundle (log?: (line: string) => void): Promise<string> {
  current ??= (async () => {
    while (!await isWebBundleCurrent()) {
      if (await takeLock()) {
        try {
          if (!await isWebBundleCurrent()) await buildWebBundle(log)
        } finally {
          await rm(LOCK_DIR, { recursive: true, force: true })
        }
      } else {
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    }
    return WEB_BUILD_DIR
  })()
  current.catch(() => { current = undefined })
  return current
}

async function takeLock (): Promise<boolean> {
  await mkdir(join(ROOT, 'build'), { recursive: true })
  try {
    await mkdir(LOCK_DIR)
    return true
  } catch {
    const since = await stat(LOCK_DIR).then(s => Date.now() - s.mtimeMs, () => 0)
    if (since > STALE_LOCK_MS) await rm(LOCK_DIR, { recursive: true, force: true })
    return false
  }
}
