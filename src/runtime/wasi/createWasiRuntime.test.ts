import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { readdirSync, readlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildWasiFixture } from './fixtures/buildFixtures.ts'
import { waitFor } from '../../util/index.ts'
import { createWasiRuntime, ENTRY_BYTES, MAX_TASK_FDS, type TaskRunOutcome, type TaskRunRequest, type WasiRuntime } from '../index.ts'
import { WORKER_SCRIPT_DIR } from './createWasiRuntime.ts'

const MiB = 1024 * 1024
const LIMITS = { memoryBytes: 64 * MiB, timeoutMs: 20_000, outputBytes: 16 * MiB }
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

let scratch: string
let workDir: string

async function request(fixture: string, extra: Partial<TaskRunRequest> = {}): Promise<TaskRunRequest> {
  return { moduleCid: `cid-${fixture}`, modulePath: await buildWasiFixture(fixture), args: [], env: {}, inputs: [], limits: LIMITS, ...extra }
}

function assertExit(outcome: TaskRunOutcome): asserts outcome is Extract<TaskRunOutcome, { status: 'exit' }> {
  assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
}

function assertFailed(outcome: TaskRunOutcome, reason: string): asserts outcome is Extract<TaskRunOutcome, { status: 'failed' }> {
  assert.equal(outcome.status, 'failed', 'the task should have failed')
  assert.equal(outcome.reason, reason, outcome.message)
}

/** fds of this process that point into the work folder: a killed worker must not leave any. */
function fdsIntoWorkDir(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) } catch { return '' } })
    .filter((target) => target.startsWith(workDir))
}

/** A worker makes its /in and /out folders in workDir when it takes its first task. */
async function taskStarted(): Promise<void> {
  await waitFor(async () => (await readdir(workDir)).length > 0, 10_000, 'a task to start')
}

async function withRuntime(slots: number, body: (runtime: WasiRuntime) => Promise<void>): Promise<void> {
  const runtime = createWasiRuntime({ slots, workDir })
  try {
    await body(runtime)
  } finally {
    await runtime.close()
  }
}

async function echoWorks(runtime: WasiRuntime): Promise<void> {
  const outcome = await runtime.run(await request('echo', { args: ['still', 'fine'] }))
  assertExit(outcome)
  assert.match(text(outcome.stdout), /argv\[2\]=fine/)
}

describe('createWasiRuntime', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conun-wasi-test-'))
    workDir = join(scratch, 'work')
  })

  after(async () => {
    assert.deepEqual(await readdir(workDir), [], 'every task folder is removed')
    await rm(scratch, { recursive: true, force: true })
  })

  it('round-trips args, env, stdin, /in files and nested /out files', async () => {
    const inputA = join(scratch, 'a.txt')
    const inputB = join(scratch, 'b.txt')
    await writeFile(inputA, 'alpha')
    await writeFile(inputB, 'beta')
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('echo', {
        args: ['hello world', '/in/data/a.txt', '/in/b.txt'],
        env: { GREETING: 'hi there' },
        stdin: new TextEncoder().encode('from stdin'),
        inputs: [{ name: 'data/a.txt', path: inputA }, { name: 'b.txt', path: inputB }],
      }))
      assertExit(outcome)
      assert.equal(outcome.exitCode, 0)
      assert.equal(text(outcome.stdout), [
        'argv[0]=task.wasm',
        'argv[1]=hello world',
        'argv[2]=/in/data/a.txt',
        'argv[3]=/in/b.txt',
        'GREETING=hi there',
        'HOME=(unset)',
        'stdin=from stdin',
        'file /in/data/a.txt=alpha',
        'file /in/b.txt=beta',
        '',
      ].join('\n'))
      assert.equal(text(outcome.stderr), 'echo done\n')
      const files = Object.fromEntries(outcome.files.map((f) => [f.path, text(f.bytes)]))
      assert.deepEqual(files, { 'result.txt': 'result\n', 'sub/dir/x.txt': 'nested\n' })
      assert.ok(outcome.usage.memoryBytes > 0)
      assert.ok(outcome.usage.wallMs > 0)
    })
    assert.equal((await stat(inputA)).nlink, 1, 'the hard link into /in is gone')
  })

  it('reports the exit code given to proc_exit', async () => {
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('exitcode'))
      assertExit(outcome)
      assert.equal(outcome.exitCode, 7)
    })
  })

  it('kills a looping module at the timeout and keeps serving', async () => {
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('loop', { limits: { ...LIMITS, timeoutMs: 300 } }))
      assertFailed(outcome, 'timeout')
      assert.equal(outcome.message, 'timed out after 300 ms')
      assert.equal(text(outcome.stdout), 'looping\n', 'output printed before the kill is kept')
      assert.deepEqual(fdsIntoWorkDir(), [])
      await echoWorks(runtime)
      assert.equal(runtime.stats().workersStarted, 2, 'the killed worker was replaced')
    })
  })

  it('stops a sleeping module at the timeout too', async () => {
    await withRuntime(1, async (runtime) => {
      const napping = await runtime.run(await request('sleep', { args: ['20'] }))
      assertExit(napping)
      assert.equal(text(napping.stdout), 'sleeping\nwoke\n')
      const outcome = await runtime.run(await request('sleep', { limits: { ...LIMITS, timeoutMs: 300 } }))
      assertFailed(outcome, 'timeout')
      assert.equal(text(outcome.stdout), 'sleeping\n')
      await echoWorks(runtime)
    })
  })

  it('cancels a running task when the signal aborts', async () => {
    await withRuntime(1, async (runtime) => {
      const controller = new AbortController()
      const running = runtime.run(await request('loop', { signal: controller.signal }))
      await taskStarted()
      controller.abort()
      assertFailed(await running, 'cancelled')
      const already = await runtime.run(await request('echo', { signal: AbortSignal.abort() }))
      assertFailed(already, 'cancelled')
      await echoWorks(runtime)
    })
  })

  it('cancels a queued task without touching the busy worker', async () => {
    await withRuntime(1, async (runtime) => {
      const busy = runtime.run(await request('loop', { limits: { ...LIMITS, timeoutMs: 500 } }))
      const controller = new AbortController()
      const queued = runtime.run(await request('echo', { signal: controller.signal }))
      controller.abort()
      assertFailed(await queued, 'cancelled')
      assertFailed(await busy, 'timeout')
    })
  })

  it('stops a memory hog at the cap', async () => {
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('memhog', { limits: { ...LIMITS, memoryBytes: 16 * MiB } }))
      assertFailed(outcome, 'memory-limit')
      assert.ok(outcome.usage.memoryBytes <= 16 * MiB)
      assert.match(text(outcome.stderr), /malloc failed after \d+ MiB/)
      const tooSmall = await runtime.run(await request('echo', { limits: { ...LIMITS, memoryBytes: 65536 } }))
      assertFailed(tooSmall, 'memory-limit')
      assert.match(tooSmall.message, /initial memory/)
      await echoWorks(runtime)
    })
  })

  it('reports a trap', async () => {
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('trap'))
      assertFailed(outcome, 'trap')
      assert.match(outcome.message, /unreachable/)
    })
  })

  it('stops a module flooding stdout at the output limit', async () => {
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('flood', { limits: { ...LIMITS, outputBytes: 64 * 1024 } }))
      assertFailed(outcome, 'output-limit')
      assert.equal(outcome.stdout.length, 64 * 1024, 'stdout is kept up to the limit')
      await echoWorks(runtime)
    })
  })

  it('counts files written to /out against the output limit', async () => {
    await withRuntime(1, async (runtime) => {
      const capped = await runtime.run(await request('bigout', { limits: { ...LIMITS, outputBytes: MiB } }))
      assertFailed(capped, 'output-limit')
      const allowed = await runtime.run(await request('bigout', { limits: { ...LIMITS, outputBytes: 11 * 1000 * 1000 } }))
      assertExit(allowed)
      assert.equal(allowed.files.length, 1)
      assert.equal(allowed.files[0]?.path, 'big.bin')
      assert.ok((allowed.files[0]?.bytes.length ?? 0) >= 10 * 1000 * 1000)
    })
  })

  it('counts every file and folder a task creates, empty ones too, against the output limit and the entry cap', async () => {
    await withRuntime(1, async (runtime) => {
      // 100,000 empty folders once passed a 1 MiB cap and took 393 MiB of the host's disk.
      const folders = await runtime.run(await request('mkdirs', { limits: { ...LIMITS, outputBytes: MiB } }))
      assertFailed(folders, 'output-limit')
      assert.match(folders.message, new RegExp(`each file or folder created counts ${ENTRY_BYTES} bytes`))
      const entries = await runtime.run(await request('mkdirs', { limits: { ...LIMITS, outputBytes: 64 * MiB } }))
      assertFailed(entries, 'output-limit')
      assert.match(entries.message, /created more than 4096 files and folders/)
      const few = await runtime.run(await request('mkdirs', { args: ['100'] }))
      assertExit(few)
      assert.equal(few.exitCode, 0)
      // Re-opening a file it made creates nothing: 10,000 fopen("a") of one log are one entry.
      const reopened = await runtime.run(await request('reopen', { limits: { ...LIMITS, outputBytes: MiB } }))
      assertExit(reopened)
      assert.equal(reopened.exitCode, 0)
      assert.equal(text(reopened.files[0]!.bytes).split('\n').length - 1, 10_000)
      await echoWorks(runtime)
    })
  })

  it('caps the fds a task holds open, and the worker gets them all back', async () => {
    const input = join(scratch, 'x.txt')
    await writeFile(input, 'x')
    await withRuntime(1, async (runtime) => {
      // Opening /in until it fails once held 19,966 fds of the process, every one it had.
      const outcome = await runtime.run(await request('holdfds', { args: ['/in/x', '0'], inputs: [{ name: 'x', path: input }] }))
      assertExit(outcome)
      const preopens = 2
      assert.match(text(outcome.stdout), new RegExp(`^held ${MAX_TASK_FDS - preopens} fds, then: No file descriptors available`))
      assert.deepEqual(fdsIntoWorkDir(), [])
      await echoWorks(runtime)
    })
  })

  it('keeps the module inside /in (read-only) and /out', async () => {
    const input = join(scratch, 'x.txt')
    await writeFile(input, 'secret input')
    const before = await stat(input)
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('escape', { inputs: [{ name: 'x', path: input }] }))
      assertExit(outcome)
      const report = text(outcome.stdout)
      assert.doesNotMatch(report, /ESCAPED/)
      assert.equal(report.match(/^blocked: /gm)?.length, 20)
      assert.match(report, /^read \/in\/x: secret input$/m)
      assert.deepEqual(outcome.files, [])
      // escape closed fds 0–2 at the end: the worker it ran in must still work.
      await echoWorks(runtime)
    })
    assert.equal(await readFile(input, 'utf8'), 'secret input')
    const afterRun = await stat(input)
    assert.equal(afterRun.mtimeMs, before.mtimeMs)
    assert.equal(afterRun.nlink, 1)
  })

  it('refuses a module importing a host function it is not given', async () => {
    await withRuntime(1, async (runtime) => {
      const outcome = await runtime.run(await request('hostimport'))
      assertFailed(outcome, 'invalid-module')
      assert.match(outcome.message, /env\.evil/)
    })
  })

  it('refuses a file that is not a module', async () => {
    const notWasm = join(scratch, 'not.wasm')
    await writeFile(notWasm, '#!/bin/sh\n')
    await withRuntime(1, async (runtime) => {
      assertFailed(await runtime.run({ ...(await request('echo')), moduleCid: 'not-wasm', modulePath: notWasm }), 'invalid-module')
    })
  })

  it('rejects input names that could leave /in', async () => {
    await withRuntime(1, async (runtime) => {
      for (const name of ['../x', '/etc/passwd', 'a//b', '', 'a/./b', 'a/..']) {
        await assert.rejects(runtime.run(await request('echo', { inputs: [{ name, path: '/etc/hostname' }] })), /invalid input name/)
      }
      await assert.rejects(
        runtime.run(await request('echo', { inputs: [{ name: 'a', path: '/etc/hostname' }, { name: 'a/b', path: '/etc/hostname' }] })),
        /both a file and a folder/)
    })
  })

  it('runs more tasks than slots, all correctly', async () => {
    await withRuntime(2, async (runtime) => {
      const outcomes = await Promise.all(Array.from({ length: 8 }, async (_, i) =>
        runtime.run(await request('echo', { args: [`task-${i}`], stdin: new TextEncoder().encode(`input-${i}`) }))))
      outcomes.forEach((outcome, i) => {
        assertExit(outcome)
        assert.match(text(outcome.stdout), new RegExp(`argv\\[1\\]=task-${i}\\n`))
        assert.match(text(outcome.stdout), new RegExp(`stdin=input-${i}\\n`))
      })
      assert.equal(runtime.stats().workersStarted, 2)
    })
  })

  it('gives a task a zeroed memory, never what the task before it left on the same worker', async () => {
    await withRuntime(1, async (runtime) => {
      const runs: string[] = []
      for (let i = 0; i < 3; i++) {
        const outcome = await runtime.run(await request('leftovers'))
        assertExit(outcome)
        runs.push(text(outcome.stdout).trim())
      }
      // The same size every time: the memory never grew, so the worker may hand it on.
      const pages = /pages=(\d+)/.exec(runs[0]!)?.[1]
      assert.deepEqual(runs, Array(3).fill(`dirty=0 pages=${pages}`))
      assert.equal(runtime.stats().workersStarted, 1, 'all three ran on one worker')
    })
  })

  it('starts a worker when a task needs one and ends it when it sits idle', async () => {
    const runtime = createWasiRuntime({ slots: 2, workDir, workerIdleMs: 200 })
    try {
      assert.equal(runtime.stats().workersLive, 0, 'no worker before the first task')
      await echoWorks(runtime)
      assert.equal(runtime.stats().workersLive, 1, 'one task at a time needs one worker of the two slots')
      await waitFor(() => runtime.stats().workersLive === 0, 10_000, 'the idle worker to end')
      await waitFor(async () => (await readdir(workDir)).filter(name => name !== WORKER_SCRIPT_DIR).length === 0, 10_000, 'its task folders to be removed')
      await echoWorks(runtime)
      assert.equal(runtime.stats().workersStarted, 2, 'the next task started a new worker')
    } finally {
      await runtime.close()
    }
  })

  it('compiles a module once per content address and memory cap', async () => {
    await withRuntime(2, async (runtime) => {
      const same = await request('exitcode', { moduleCid: 'cache-test' })
      await Promise.all([runtime.run(same), runtime.run(same)])
      await runtime.run(same)
      assert.equal(runtime.stats().compiles, 1)
      await runtime.run({ ...same, limits: { ...LIMITS, memoryBytes: 32 * MiB } })
      assert.equal(runtime.stats().compiles, 2, 'a different cap is a different module')
    })
  })

  it('cancels running and queued tasks on close, and refuses work afterwards', async () => {
    const runtime = createWasiRuntime({ slots: 1, workDir })
    const loop = await request('loop')
    const running = runtime.run(loop)
    const queued = runtime.run(loop)
    await taskStarted()
    await runtime.close()
    assertFailed(await running, 'cancelled')
    assertFailed(await queued, 'cancelled')
    assert.deepEqual(await readdir(workDir), [], 'close waits for the cleanup')
    await assert.rejects(runtime.run(await request('exitcode')), /closed/)
  })
})
