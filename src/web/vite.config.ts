// Vite bundles the two browser pages (the dashboard and the browser provider) into build/web.
// `npm run build:web` runs it; a node also runs it on demand when the bundle is missing or stale.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { defineConfig } from 'vite'
import type { Plugin } from 'vite'

const ROOT = resolve(import.meta.dirname, '..', '..')
const OUT_DIR = process.env.CONUN_WEB_OUT_DIR ?? resolve(ROOT, 'build', 'web')

/** Project source files bundled so far, by the page builds and the Web Worker builds alike (and this config). */
const bundled = new Set<string>([resolve(ROOT, 'src', 'web', 'vite.config.ts')])

/**
 * Records every project source file the bundle was made from, with its hash, in sources.json: the
 * node compares them with the files on disk to know whether the bundle is still current. Workers
 * are bundled separately, before the pages are written: their plugin only collects.
 */
function recordSources (write: boolean): Plugin {
  return {
    name: 'conun-record-sources',
    generateBundle () {
      for (const id of this.getModuleIds()) {
        const path = id.split('?')[0]!
        if (path.startsWith(ROOT) && !path.includes('/node_modules/')) bundled.add(path)
      }
      if (!write) return
      const files: Record<string, string> = {}
      for (const path of [...bundled].sort()) files[relative(ROOT, path)] = createHash('sha256').update(readFileSync(path)).digest('hex')
      this.emitFile({ type: 'asset', fileName: 'sources.json', source: JSON.stringify({ files }, null, 2) })
    },
  }
}

export default defineConfig({
  root: resolve(ROOT, 'src', 'web'),
  base: '/',
  logLevel: 'warn',
  plugins: [recordSources(true)],
  worker: { format: 'es', plugins: () => [recordSources(false)] },
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    rolldownOptions: {
      input: {
        dashboard: resolve(ROOT, 'src', 'web', 'dashboard', 'index.html'),
        provide: resolve(ROOT, 'src', 'web', 'provide', 'index.html'),
      },
      // Domain doors (index.ts) re-export node-only modules next to isomorphic ones. The pages use
      // only the isomorphic ones; declaring conun's own modules free of side effects lets the
      // bundler drop the others whole, top-level code included (the browser tests prove it).
      // The chain toolchain (Hardhat, loaded on demand by the ledger's dev chain) is Node-only, with
      // native bindings: never bundled, and its import is dropped with the code that needs it.
      external: [/^hardhat(\/|$)/],
      treeshake: { moduleSideEffects: id => !id.startsWith(join(ROOT, 'src')) || id.startsWith(join(ROOT, 'src', 'web')) },
      onwarn (warning, warn) {
        if (warning.message.includes('externalized for browser compatibility')) return
        warn(warning)
      },
    },
  },
})
