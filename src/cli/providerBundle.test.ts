import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { freshBundle } from './providerBundle.ts'

test('a bundle is built once, rebuilt when an input changes, and each module in it keeps its own location', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const entry = join(dir, 'src', 'main.ts')
  const helper = join(dir, 'src', 'lib', 'helper.ts')
  const outfile = join(dir, 'build', 'main.mjs')
  await writeFile(join(dir, 'package.json'), '{"type":"module"}')
  await mkdir(join(dir, 'src', 'lib'), { recursive: true })
  await writeFile(entry, 'import { where } from \'./lib/helper.ts\'\nconst answer: number = 42\nconsole.log(JSON.stringify({ answer, where, main: import.meta.url }))\n')
  await writeFile(helper, '/*! Copyright Jimmy Wärting, MIT licence */\nexport const where: string = new URL(\'.\', import.meta.url).href\n')
  const run = async () => JSON.parse((await promisify(execFile)(process.execPath, [outfile])).stdout) as { answer: number, where: string, main: string }

  assert.equal(await freshBundle({ entry, outfile }), outfile)
  assert.deepEqual(await run(), { answer: 42, where: pathToFileURL(join(dir, 'src', 'lib')).href + '/', main: pathToFileURL(entry).href })
  // V8 keeps a source with one character beyond ASCII in two bytes a character: licences go beside it.
  assert.ok((await readFile(outfile)).every(byte => byte < 0x80), 'the bundle is ASCII')
  assert.match(await readFile(`${outfile}.LEGAL.txt`, 'utf8'), /Jimmy Wärting/)
  const built = (await stat(outfile)).mtimeMs
  assert.equal(await freshBundle({ entry, outfile }), outfile)
  assert.equal((await stat(outfile)).mtimeMs, built, 'nothing changed: the bundle is reused')

  await writeFile(entry, 'console.log(JSON.stringify({ answer: 43, where: \'\', main: \'\' }))\n')
  await utimes(entry, new Date(), new Date(Date.now() + 2_000))
  assert.equal(await freshBundle({ entry, outfile }), outfile)
  assert.equal((await run()).answer, 43, 'rebuilt after its entry changed')

  await writeFile(entry, 'this is not TypeScript (\n')
  await utimes(entry, new Date(), new Date(Date.now() + 4_000))
  assert.equal(await freshBundle({ entry, outfile }), undefined, 'a source that does not build: no bundle, run from the sources')
})
