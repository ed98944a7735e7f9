import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isWebBundleCurrent } from './index.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

test('a bundle is current only while every source it was built from is unchanged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-web-'))
  try {
    assert.equal(await isWebBundleCurrent(dir), false, 'no sources.json: never built')
    const source = 'src/web/dashboard/main.ts'
    const hash = sha256(await readFile(join(import.meta.dirname, 'dashboard', 'main.ts')))
    await writeFile(join(dir, 'sources.json'), JSON.stringify({ files: { [source]: hash } }))
    assert.equal(await isWebBundleCurrent(dir), true)
    await writeFile(join(dir, 'sources.json'), JSON.stringify({ files: { [source]: sha256(new Uint8Array(1)) } }))
    assert.equal(await isWebBundleCurrent(dir), false, 'a source changed')
    await writeFile(join(dir, 'sources.json'), JSON.stringify({ files: { 'src/web/gone.ts': hash } }))
    assert.equal(await isWebBundleCurrent(dir), false, 'a source is gone')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
