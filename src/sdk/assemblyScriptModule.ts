import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, join, resolve } from 'node:path'
import { ConunError } from '../util/index.ts'

/** An AssemblyScript source that did not compile; `details` is the compiler's own report. */
export class AssemblyScriptCompileError extends ConunError {
  override readonly name = 'AssemblyScriptCompileError'
  readonly code = 'assemblyscript-compile'
  readonly kind = 'invalid'
  readonly details: string
  constructor (entry: string, details: string) {
    super(`cannot compile ${entry} with AssemblyScript:\n${details}\n  fix the source (the compiler's messages above name file:line), or give a built .wasm instead`)
    this.details = details
  }
}

export interface CompiledModule {
  readonly wasm: Uint8Array
  /** Every file the compiler read (the entry, what it imports, the WASI shim), with its text. */
  readonly sources: ReadonlyMap<string, string>
}

const require = createRequire(import.meta.url)

/**
 * Modules start with 1 MiB of memory instead of asc's one page. A small task then never grows its
 * memory, and a provider reuses it, zeroed, for the next task instead of leaving it to the garbage
 * collector (see runtime/wasi/memoryPool.ts): on 10,000 small tasks, 22 MB less at the provider's
 * peak and about a third less CPU per task. Pages a task does not touch cost no RAM.
 */
const INITIAL_MEMORY_PAGES = 16
/** Everything but the files; part of the cache key, so a change of settings compiles again. */
const COMPILE_FLAGS = ['-O3', '--enable', 'simd', '--initialMemory', String(INITIAL_MEMORY_PAGES)]

/**
 * Compiles an AssemblyScript entry file to a WASI preview-1 command, as conun's examples are built:
 * the wasi-shim config (WASI imports, `_start`), -O3, 128-bit SIMD (every engine conun runs
 * modules in has it; relaxed SIMD stays off, so results are deterministic), and 1 MiB of initial
 * memory. `baseDir` is where
 * paths in the compiler's messages are relative to.
 */
export async function compileAssemblyScript (entry: string, baseDir = dirname(resolve(entry))): Promise<CompiledModule> {
  const asc = (await import('assemblyscript/asc')).default
  const stdout = asc.createMemoryStream()
  const stderr = asc.createMemoryStream()
  const outFile = `${basename(entry, '.ts')}.wasm`
  const sources = new Map<string, string>()
  let wasm: Uint8Array | undefined
  const { error } = await asc.main([
    resolve(entry),
    '--baseDir', baseDir,
    '--config', require.resolve('@assemblyscript/wasi-shim/asconfig.json'),
    ...COMPILE_FLAGS,
    '--outFile', outFile,
  ], {
    stdout,
    stderr,
    readFile: async (filename, dir) => {
      const path = resolve(dir, filename)
      const text = await readFile(path, 'utf8').catch(() => null)
      if (text !== null) sources.set(path, text)
      return text
    },
    // asc's default joins the library folder onto baseDir even when it is absolute, as it is when
    // the wasi-shim config is given by absolute path; resolve it properly instead.
    listFiles: async (dirname, dir) => {
      try {
        return (await readdir(resolve(dir, dirname))).filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      } catch {
        return null
      }
    },
    writeFile: (filename, contents) => {
      if (basename(filename) === outFile && typeof contents !== 'string') wasm = contents
    },
  })
  if (error !== null || wasm === undefined) throw new AssemblyScriptCompileError(entry, stderr.toString().trim() || (error?.message ?? 'the compiler emitted no module'))
  return { wasm, sources }
}

interface CacheManifest {
  /** Each source the last compile read, with the SHA-256 of its text then. */
  readonly sources: Record<string, string>
}

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex')

/**
 * The path of the WASI module built from an AssemblyScript source file, compiled on first use and
 * cached in `cacheDir` by content: the entry's path and text name the cache entry, which is used
 * again while every file that compile read (imports included) still has the same text.
 */
export async function assemblyScriptModule (entry: string, cacheDir = join(process.cwd(), 'build', 'assemblyscript')): Promise<string> {
  const path = resolve(entry)
  const { version } = require('assemblyscript/package.json') as { version: string }
  const key = sha256(`${version}\0${COMPILE_FLAGS.join(' ')}\0${path}\0${await readFile(path, 'utf8')}`).slice(0, 32)
  const wasmPath = join(cacheDir, `${key}.wasm`)
  const manifestPath = join(cacheDir, `${key}.json`)
  const manifest = await readFile(manifestPath, 'utf8').then(text => JSON.parse(text) as CacheManifest, () => undefined)
  if (manifest !== undefined && await unchanged(manifest) && await readFile(wasmPath).then(() => true, () => false)) return wasmPath
  const compiled = await compileAssemblyScript(path)
  await mkdir(cacheDir, { recursive: true })
  // Written beside and renamed, so a concurrent compile or a reader never sees half a file.
  await writeAtomically(wasmPath, compiled.wasm)
  await writeAtomically(manifestPath, JSON.stringify({ sources: Object.fromEntries([...compiled.sources].map(([file, text]) => [file, sha256(text)])) } satisfies CacheManifest))
  return wasmPath
}

async function unchanged (manifest: CacheManifest): Promise<boolean> {
  for (const [file, hash] of Object.entries(manifest.sources)) {
    const text = await readFile(file, 'utf8').catch(() => undefined)
    if (text === undefined || sha256(text) !== hash) return false
  }
  return true
}

async function writeAtomically (path: string, contents: string | Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(temp, contents)
  await rename(temp, path)
}
