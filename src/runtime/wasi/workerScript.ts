import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { stripTypeScriptTypes } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const SOURCES = new URL('.', import.meta.url)
/** Stripped modules by the hash of Node's version and their source, for every runtime of this checkout. */
const STRIPPED = new URL('../../../build/wasi-worker/', SOURCES)
const LOCAL_IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])\.\/([A-Za-z0-9_]+)\.ts\2/g
const OTHER_IMPORT = /\bfrom\s*['"](?!node:|\.\/)/

/**
 * Writes the WASI worker's modules (worker.ts and what it imports from this folder) into `dir` as
 * plain JavaScript, types stripped here by Node's own stripper, and answers the entry's URL. A
 * worker started on TypeScript loads that stripper (amaro, swc built to WebAssembly) into its own
 * isolate: started on worker.ts, a worker took about 46 MB, on JavaScript 20 MB, and a provider
 * runs one per core. Stripping keeps every line and column, so stack traces still point into the
 * sources. The worker may import Node's modules and its own folder only.
 *
 * The stripper itself costs the process that loads it about 20 MB for good (its WebAssembly code
 * and memory), so stripped modules are kept in build/wasi-worker: a provider started after
 * `npm run build:provider` (installs and `npm test` run it) never loads the stripper.
 */
export function writeWorkerScript (dir: string): URL {
  mkdirSync(dir, { recursive: true })
  const pending = ['worker.ts']
  const written = new Set<string>()
  while (pending.length > 0) {
    const name = pending.pop()!
    if (written.has(name)) continue
    written.add(name)
    const js = stripped(readFileSync(new URL(name, SOURCES), 'utf8')).replace(LOCAL_IMPORT, (_, lead: string, quote: string, base: string) => {
      pending.push(`${base}.ts`)
      return `${lead}${quote}./${base}.mjs${quote}`
    })
    if (OTHER_IMPORT.test(js)) throw new Error(`${name}: the WASI worker may import node: modules and its own folder only`)
    writeFileSync(join(dir, name.replace(/\.ts$/, '.mjs')), js)
  }
  return pathToFileURL(join(dir, 'worker.mjs'))
}

/** Strips the worker's modules ahead, so that no provider started afterwards loads the stripper. */
export function prepareWorkerScript (): void {
  const dir = mkdtempSync(join(tmpdir(), 'conun-wasi-worker-'))
  try {
    writeWorkerScript(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The source with its types stripped, from build/wasi-worker where it was stripped before. */
function stripped (source: string): string {
  // A path made here, not when the module loads: the browser's build of the runtime's door loads it too.
  const strippedDir = fileURLToPath(STRIPPED)
  const kept = join(strippedDir, `${createHash('sha256').update(`${process.version}\0${source}`).digest('hex')}.mjs`)
  try {
    return readFileSync(kept, 'utf8')
  } catch {
    // Not stripped yet.
  }
  const js = stripTypeScriptTypes(source)
  try {
    mkdirSync(strippedDir, { recursive: true })
    const partial = `${kept}.${process.pid}.tmp`
    writeFileSync(partial, js)
    renameSync(partial, kept)
  } catch {
    // A checkout we may not write to strips again next time; the worker runs all the same.
  }
  return js
}
