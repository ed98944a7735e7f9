// Docker jobs on a real grid: a provider with Docker offers it, one started with --runtimes wasi does
// not, and a docker job's tasks all go to the first. The image travels by CID like any code.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBusyboxImage } from '../scripts/build-busybox-image.ts'
import { startLocalGrid } from '../src/devnet/index.ts'
import { createDockerEngine } from '../src/runtime/index.ts'
import { stdoutOf, waitFor } from './helpers.ts'

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'docker-wordcount')
await buildBusyboxImage()
const grid = await startLocalGrid({ providers: 0, coresPerProvider: 2 })
const [withDocker, wasiOnly] = await Promise.all([grid.addProvider(), grid.addProvider({ flags: ['--runtimes', 'wasi'] })])
const client = grid.requester.client
test.after(() => grid.stop())

await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 20_000, 'both offers')

test('offers list docker only where the provider has it and allows it', async () => {
  const offers = new Map((await client.peers()).map(peer => [peer.peerId, peer.offer?.runtimes]))
  assert.deepEqual(offers.get(withDocker!.peerId), ['wasi', 'docker'])
  assert.deepEqual(offers.get(wasiOnly!.peerId), ['wasi'])
})

test('the docker-wordcount example runs in containers on the provider that has Docker, and none are left', async () => {
  const spec = JSON.parse(await readFile(join(EXAMPLE, 'job.json'), 'utf8'))
  const submitted = await client.submitJob(spec, EXAMPLE)
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 60_000, 'the docker job')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  const expected = ['4 42', '6 52', '4 20'] // lines and words of raven, ozymandias, tyger
  for (const task of results.tasks) {
    assert.equal(task.provider, withDocker!.peerId)
    assert.equal((await stdoutOf(client, task.outputs)).trim(), expected[task.idx])
    assert.ok(task.outputs.some(output => output.kind === 'file' && output.path === 'count.txt'), 'count.txt came back from /out')
  }
  const filters = encodeURIComponent(JSON.stringify({ label: [`org.conun.workdir=${join(withDocker!.dataDir, 'containers')}`] }))
  assert.deepEqual(await createDockerEngine().json('GET', `/containers/json?all=1&filters=${filters}`), [])
})
