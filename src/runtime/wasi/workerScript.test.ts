import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { fileURLToPath } from 'node:url'
import { prepareWorkerScript, writeWorkerScript } from './workerScript.ts'

test('the worker\'s modules are written as JavaScript that imports only Node\'s modules and each other', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-worker-script-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const entry = writeWorkerScript(dir)
  assert.equal(fileURLToPath(entry), join(dir, 'worker.mjs'))
  const files = (await readdir(dir)).sort()
  assert.ok(files.includes('workerTask.mjs') && files.includes('sandboxImports.mjs'), files.join(', '))
  for (const file of files) {
    const js = await readFile(join(dir, file), 'utf8')
    for (const [, specifier] of js.matchAll(/\bfrom\s*['"]([^'"]+)['"]/g)) {
      assert.ok(specifier!.startsWith('node:') || (specifier!.startsWith('./') && files.includes(specifier!.slice(2))), `${file} imports ${specifier}`)
    }
    assert.doesNotMatch(js, /\bimport type\b/, `${file} has its types stripped`)
  }
})

test('a runtime started after prepareWorkerScript never loads the type stripper', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-worker-script-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  prepareWorkerScript()
  // The module object of node:module; syncBuiltinESMExports carries the swap to workerScript.ts's import.
  const nodeModule = createRequire(import.meta.url)('node:module') as { stripTypeScriptTypes: (source: string) => string }
  const stripper = nodeModule.stripTypeScriptTypes
  nodeModule.stripTypeScriptTypes = () => assert.fail('the stripper was called')
  syncBuiltinESMExports()
  t.after(() => {
    nodeModule.stripTypeScriptTypes = stripper
    syncBuiltinESMExports()
  })
  writeWorkerScript(dir)
  assert.ok((await readdir(dir)).includes('workerTask.mjs'))
})
