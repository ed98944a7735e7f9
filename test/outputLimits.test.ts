// A provider's outputs are held to the job's output limit: a result that claims more than the limit
// is refused without fetching anything, and an output whose DAG describes more than its claimed
// size (a DAG bomb: 1 TiB from three unique blocks) is refused at its root. Both are judged
// invalid, with the provider's signed result kept as evidence. Reading content back is bounded too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultNodeConfig, startNode } from '../src/node/index.ts'
import { parseJobSpec } from '../src/requester/index.ts'
import { ConunClient } from '../src/sdk/index.ts'
import { ContentTooLargeError } from '../src/storage/index.ts'
import { bounded, serveDag, terabyteFile } from '../src/storage/dagBombs.ts'
import { waitFor } from './helpers.ts'
import type { TaskResultsBody } from '../src/net/index.ts'
import type { Runtime, TaskRunOutcome } from '../src/runtime/index.ts'
import type { StoredContent } from '../src/storage/index.ts'

const MiB = 1024 * 1024
const BOMB_CLAIM = 100_000

// The hostile provider: it runs nothing, and returns stdout of the size its first argument asks for.
const lyingRuntime: Runtime = {
  name: 'wasi',
  slots: 1,
  close: async () => {},
  run: async (request): Promise<TaskRunOutcome> => ({ status: 'exit', exitCode: 0, stdout: new Uint8Array(Number(request.args[0])), stderr: new Uint8Array(0), files: [], usage: { wallMs: 1, memoryBytes: 0 } }),
}

const base = await mkdtemp(join(tmpdir(), 'conun-output-limits-'))
const liar = await startNode({ ...defaultNodeConfig(), dataDir: join(base, 'liar'), devnet: true, provide: true }, 'test', { runtime: () => lyingRuntime })
const requester = await startNode({ ...defaultNodeConfig(), dataDir: join(base, 'requester'), devnet: true, bootstrap: liar.host.getMultiaddrs().map(String) }, 'test')
test.after(async () => {
  await requester.stop()
  await liar.stop()
  await rm(base, { recursive: true, force: true })
})
const bomb = await terabyteFile()
await serveDag(liar.host, [bomb])
// Outputs of BOMB_CLAIM bytes are published as the bomb; every output published is noted.
const published: StoredContent[] = []
const putBytes = liar.storage.putBytes.bind(liar.storage)
Object.assign(liar.storage, {
  putBytes: async (bytes: Uint8Array) => {
    const stored = bytes.byteLength === BOMB_CLAIM ? { cid: bomb.root, size: BOMB_CLAIM } : await putBytes(bytes)
    published.push(stored)
    return stored
  },
})
await waitFor(() => requester.offers.get(liar.key.peerId.toString()) !== undefined, 30_000, 'the liar\'s offer')
const module = await requester.storage.putBytes(new TextEncoder().encode('never run'))

/** Runs a one-task job whose stdout is `bytes` long, with a 1 MiB output limit; answers its task. */
async function runJob (bytes: number) {
  const job = await requester.requester.submitJob(parseJobSpec({ runtime: 'wasi', module: module.cid, tasks: [{ args: [String(bytes)] }], limits: { outputMb: 1 }, maxAttempts: 1 }))
  // A bound on the test: a regression fails it instead of fetching for ever.
  const done = await bounded(requester.requester.waitForJob(job.id), join(base, 'requester'), 64 * MiB, 60_000)
  assert.equal(done.state, 'failed')
  return requester.requester.outcomes(job.id)[0]!
}

test('a result claiming more output than the job allows is invalid, and nothing of it is fetched', async () => {
  const task = await runJob(MiB + 1)
  assert.equal(task.reason, 'invalid-output')
  assert.match(task.message ?? '', /claims 1048577 bytes of outputs, over the job's limit of 1048576/)
  const stdout = published.find(stored => stored.size === MiB + 1)!
  assert.equal(await requester.storage.hasLocally(stdout.cid), false, 'the oversized output was never fetched')
})

test('an output whose DAG declares more than its claimed size is refused at its root, and judged invalid', async () => {
  const task = await runJob(BOMB_CLAIM)
  assert.equal(task.reason, 'invalid-output')
  assert.match(task.message ?? '', /declares 1099511627776 bytes/)
  const evidence = requester.requester.evidence(liar.key.peerId.toString())
  assert.equal(evidence.length, 2, 'both lies are kept with the liar\'s signature over them')
  assert.ok(evidence.some(proof => (proof.batch.body as TaskResultsBody).results.some(result => result.stdout.cid === bomb.root)))
})

test('reading back: no content is served past what a node accepts, nor taken past an output\'s recorded size', async () => {
  // A refused bomb's root stays in the blockstore, like any block fetched: it declares 1 TiB.
  const seeding = requester.storage.fetch(bomb.root, { from: [liar.key.peerId], maxBytes: 1000 })
  await assert.rejects(bounded(seeding, join(base, 'requester'), 64 * MiB, 20_000), ContentTooLargeError)
  const token = (await readFile(join(base, 'requester', 'api-token'), 'utf8')).trim()
  const response = await fetch(`${requester.api.url}/v1/content/${bomb.root}`, { headers: { authorization: `Bearer ${token}` } })
  assert.equal(response.status, 413)
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'content-too-large')
  // What `conun job results` does: an output is read up to its recorded size, never past it.
  const client = new ConunClient({ url: requester.api.url, token })
  const { cid } = await requester.storage.putBytes(new Uint8Array(1000))
  assert.equal((await client.contentBytes(cid)).byteLength, 1000)
  await assert.rejects(async () => { for await (const _ of await client.content(cid, 999)) { /* at most 999 bytes */ } }, ContentTooLargeError)
})
