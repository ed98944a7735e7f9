import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBusyboxImage } from '../../scripts/build-busybox-image.ts'
import { waitFor } from '../util/index.ts'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from '../net/index.ts'
import { createProviderAgent } from '../provider/index.ts'
import { createDockerRuntime } from '../runtime/index.ts'
import { createStorage } from '../storage/index.ts'
import { startLendingPolicy } from './lendingPolicy.ts'

/** A /proc/stat whose machine is as busy as `ownerLoad` says: each reading adds 100 s of CPU time, so conun's own use is noise. */
function syntheticStat () {
  let busy = 0
  let idle = 0
  const machine = { ownerLoad: 0, readStat: () => {
    busy += Math.round(10_000 * machine.ownerLoad)
    idle += 10_000 - Math.round(10_000 * machine.ownerLoad)
    return `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\n`
  } }
  return machine
}

test('idle-only lending: waits for quiet, runs, pauses a container when the owner is busy, gives it back when paused too long', async (t) => {
  // Each resource is let go when the test ends, failed or not, from the moment it exists, the last
  // one first: a refused start (no Docker Engine) must not leave the others holding the test open.
  const undo: Array<() => Promise<unknown>> = []
  t.after(async () => {
    for (const step of undo.reverse()) await step()
  })
  const dir = await mkdtemp(join(tmpdir(), 'conun-lending-'))
  undo.push(() => rm(dir, { recursive: true, force: true }))
  const key = await generateNodeKey()
  const storage = await createStorage(join(dir, 'ipfs'), await hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  undo.push(() => storage.stop())
  const docker = await createDockerRuntime({ slots: 1, workDir: join(dir, 'containers') })
  undo.push(() => docker.close())
  const policy = { maxConcurrent: 1, maxTaskMemoryBytes: 1 << 30, maxTaskTimeoutMs: 60_000, maxTaskOutputBytes: 1 << 20, maxQueuedPerSession: 4 }
  const provider = await createProviderAgent({ key, host: storage.libp2p, storage, runtimes: [docker], chainId: 31337, dataDir: dir, policy })
  undo.push(() => provider.stop())
  const machine = syntheticStat()
  const lending = startLendingPolicy({
    lending: { idleOnly: true, busyAbovePercent: 30, idleForSec: 0.3, maxPausedSec: 1, windows: [], runOnBattery: false, checkEverySec: 0.1 },
    provider,
    runtimes: [docker],
    readStat: machine.readStat,
    onBattery: () => false,
  })
  undo.push(() => lending.stop())
  const state = () => provider.status().lending.state
  assert.equal(state(), 'idle-wait')
  await waitFor(() => state() === 'running', 10_000, 'running once quiet')

  const image = await buildBusyboxImage()
  const task = docker.run({ moduleCid: 'busybox', modulePath: image, args: ['sh', '-c', 'echo started; sleep 60'], env: {}, inputs: [], limits: { memoryBytes: 32 << 20, timeoutMs: 60_000, outputBytes: 1 << 20 } })
  await waitFor(() => docker.stats().containers === 1, 10_000, 'the container')
  machine.ownerLoad = 0.9
  await waitFor(() => state() === 'paused-busy', 10_000, 'paused when the owner is busy')
  assert.match(provider.status().lending.reason, /machine busy/)
  const outcome = await task
  assert.equal(outcome.status, 'failed')
  assert.equal(outcome.reason, 'given-back', outcome.message)
  await waitFor(() => state() === 'idle-wait', 10_000, 'waiting for idle after giving back')
  machine.ownerLoad = 0
  await waitFor(() => state() === 'running', 10_000, 'running again once quiet')
})
