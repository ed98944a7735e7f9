// A 300 MB input crosses the grid by CID (upload → requester's blockstore → bitswap → provider's
// cache → /in) without any process holding it in memory whole.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { stdoutOf, tempDir, waitFor } from './helpers.ts'

const SIZE_MB = 300

/** Peak resident memory of a process so far, in MB (Linux). */
async function peakRssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024
}

test(`a ${SIZE_MB} MB input moves by CID and streams through every node`, async (t) => {
  const module = await buildWasiFixture('checksum')
  const dir = await tempDir('large')
  const path = join(dir, 'data.bin')
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(path)
    out.on('error', reject)
    for (let i = 0; i < SIZE_MB; i++) out.write(randomBytes(1024 * 1024))
    out.end(resolve)
  })
  const expected = `${SIZE_MB * 1024 * 1024} ${fnv1a64(await readFile(path))}`

  const grid = await startLocalGrid({ providers: 1, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).some(peer => peer.offer !== null), 20_000, 'an offer')
  const provider = grid.providers[0]!
  const before = { requester: await peakRssMb(grid.requester.process.pid!), provider: await peakRssMb(provider.process.pid!) }

  const submitted = await client.submitJob({ runtime: 'wasi', module, inputs: { 'data.bin': path }, range: { count: 2, args: ['/in/data.bin'] }, limits: { timeoutMs: 120_000 } })
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 240_000, 'the job')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  for (const task of results.tasks) assert.equal((await stdoutOf(client, task.outputs)).trim(), expected)

  const after = { requester: await peakRssMb(grid.requester.process.pid!), provider: await peakRssMb(provider.process.pid!) }
  for (const role of ['requester', 'provider'] as const) {
    assert.ok(after[role] - before[role] < SIZE_MB * 0.8, `${role} peak memory grew by ${(after[role] - before[role]).toFixed(0)} MB for a ${SIZE_MB} MB input`)
  }
})

function fnv1a64 (bytes: Uint8Array): string {
  // 64-bit FNV-1a in two 32-bit halves: BigInt per byte would take minutes for 100 MB.
  let hi = 0xcbf29ce4
  let lo = 0x84222325
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0
    // multiply (hi, lo) by the FNV prime 0x100000001b3 = 2^40 + 0x1b3
    const loMul = lo * 0x1b3
    const carry = Math.floor(loMul / 0x100000000)
    const newLo = loMul >>> 0
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0
    lo = newLo
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}
