import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, it } from 'node:test'
import { buildBusyboxImage } from '../../../scripts/build-busybox-image.ts'
import { waitFor } from '../../util/index.ts'
import { createDockerRuntime, type DockerRuntime, type TaskRunOutcome, type TaskRunRequest } from '../index.ts'

const MiB = 1024 * 1024
const LIMITS = { memoryBytes: 64 * MiB, timeoutMs: 20_000, outputBytes: 4 * MiB }
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')
/** Tasks run as nobody under a root provider, else as the provider's own user: never as root. */
const TASK_USER = process.getuid!() === 0 ? '65534:65534' : `${process.getuid!()}:${process.getgid!()}`

let scratch: string
let image: string
let runtime: DockerRuntime

function request (args: string[], extra: Partial<TaskRunRequest> = {}): TaskRunRequest {
  return { moduleCid: 'cid-busybox', modulePath: image, args, env: {}, inputs: [], limits: LIMITS, ...extra }
}

function assertExit (outcome: TaskRunOutcome): asserts outcome is Extract<TaskRunOutcome, { status: 'exit' }> {
  assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
}

/** Containers of this runtime's work folder that still exist (only those running, with `status`), asked of the engine itself. */
async function containersLeft (status?: 'running'): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`org.conun.workdir=${join(scratch, 'work')}`], ...(status === undefined ? {} : { status: [status] }) }))
  return (await runtime.engine.json<unknown[]>('GET', `/containers/json?all=1&filters=${filters}`)).length
}

describe('createDockerRuntime', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conun-docker-test-'))
    image = await buildBusyboxImage()
    runtime = await createDockerRuntime({ slots: 2, workDir: join(scratch, 'work') })
  })

  after(async () => {
    try {
      // Undefined when the engine could not be reached: the scratch folder goes all the same.
      if (runtime !== undefined) {
        await runtime.close()
        assert.equal(await containersLeft(), 0, 'every container is removed')
        assert.deepEqual(await readdir(join(scratch, 'work')), [], 'every task folder is removed')
      }
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
  })

  it('round-trips args, env, stdin, /in files and nested /out files, as an unprivileged user', async () => {
    const input = join(scratch, 'words.txt')
    await writeFile(input, 'one two three\nfour\n')
    const outcome = await runtime.run(request(['sh', '-c', 'echo "$GREETING"; id -u; wc -w < /in/data/words.txt; cat; echo oops >&2; mkdir /out/d; echo done > /out/d/f.txt; exit 3'], {
      env: { GREETING: 'hi there' },
      stdin: new TextEncoder().encode('from stdin\n'),
      inputs: [{ name: 'data/words.txt', path: input }],
    }))
    assertExit(outcome)
    assert.equal(outcome.exitCode, 3)
    assert.equal(text(outcome.stdout), `hi there\n${TASK_USER.split(':')[0]}\n4\nfrom stdin\n`)
    assert.equal(text(outcome.stderr), 'oops\n')
    assert.deepEqual(outcome.files.map(file => [file.path, text(file.bytes)]), [['d/f.txt', 'done\n']])
    assert.equal(await containersLeft(), 0)
  })

  it('confines the container as the engine itself reports it', async () => {
    const controller = new AbortController()
    const task = runtime.run(request(['sleep', '60'], { signal: controller.signal }))
    const filters = encodeURIComponent(JSON.stringify({ label: [`org.conun.workdir=${join(scratch, 'work')}`], status: ['running'] }))
    let running: Array<{ Id: string }> = []
    while (running.length === 0) running = await runtime.engine.json('GET', `/containers/json?filters=${filters}`)
    const { Config, HostConfig } = await runtime.engine.json<{ Config: Record<string, unknown>, HostConfig: Record<string, unknown> }>('GET', `/containers/${running[0]!.Id}/json`)
    controller.abort()
    await task
    assert.equal(Config.User, TASK_USER)
    assert.equal(Config.NetworkDisabled, true)
    assert.deepEqual(Config.Healthcheck, { Test: ['NONE'] }, 'an image\'s HEALTHCHECK never runs')
    assert.equal(HostConfig.NetworkMode, 'none')
    assert.equal(HostConfig.ReadonlyRootfs, true)
    assert.deepEqual(HostConfig.CapDrop, ['ALL'])
    assert.deepEqual(HostConfig.SecurityOpt, ['no-new-privileges'])
    assert.equal(HostConfig.Privileged, false)
    assert.equal(HostConfig.PidsLimit, 128)
    assert.equal(HostConfig.Memory, LIMITS.memoryBytes)
    assert.equal(HostConfig.MemorySwap, LIMITS.memoryBytes)
    assert.equal(HostConfig.NanoCpus, 1e9)
    assert.match(String((HostConfig.Binds as string[])[0]), /:\/in:ro$/)
    assert.deepEqual(Object.keys(HostConfig.Tmpfs as object), ['/tmp'])
  })

  it('loads an image once per CID', async () => {
    const before = runtime.stats().imageLoads
    await Promise.all([runtime.run(request(['true'])), runtime.run(request(['true']))])
    assert.equal(runtime.stats().imageLoads, before)
  })

  it('fails a tarball that is not an image with invalid-image, and serves the next task', async () => {
    const bogus = join(scratch, 'bogus.tar')
    await writeFile(bogus, 'not a tarball at all')
    const outcome = await runtime.run(request(['true'], { moduleCid: 'cid-bogus', modulePath: bogus }))
    assert.equal(outcome.status, 'failed')
    assert.equal(outcome.reason, 'invalid-image', outcome.message)
    assertExit(await runtime.run(request(['true'])))
  })

  it('loads a tarball whose tag names another image on the provider (a rebuilt image), and leaves that tag alone', async () => {
    const { engine } = runtime
    const busybox = (await engine.json<{ Id: string }>('GET', '/images/conun%2Fbusybox:1/json')).Id
    const helper = (await engine.json<{ Id: string }>('POST', '/containers/create', { body: { Image: busybox, Cmd: ['true'] } })).Id
    // Two commits of one container are two images (their creation times differ).
    const commit = async (comment: string) => (await engine.json<{ Id: string }>('POST', `/commit?container=${helper}&repo=conun-test/tagclash&tag=a&comment=${comment}`)).Id
    const saved = await commit('saved')
    const tarball = join(scratch, 'tagclash.tar')
    await pipeline(await engine.download('/images/conun-test%2Ftagclash:a/get'), createWriteStream(tarball))
    const other = await commit('other')
    try {
      assertExit(await runtime.run(request(['true'], { moduleCid: 'cid-tagclash', modulePath: tarball })))
      assert.equal((await engine.json<{ Id: string }>('GET', '/images/conun-test%2Ftagclash:a/json')).Id, other, 'the provider\'s tag still names its own image')
      assert.equal((await engine.json<{ Id: string }>('GET', `/images/conun-image:${saved.slice('sha256:'.length)}/json`)).Id, saved, 'conun tags the image by its id')
    } finally {
      await engine.json('DELETE', `/containers/${helper}`)
      for (const image of [other, saved]) await engine.json('DELETE', `/images/${image}?force=1`).catch(() => {})
    }
  })

  it('cancels a running task when the caller aborts', async () => {
    const controller = new AbortController()
    const outcome = runtime.run(request(['sh', '-c', 'echo started; sleep 60'], { signal: controller.signal }))
    await waitFor(async () => await containersLeft('running') === 1, 30_000, 'the task\'s container to run')
    controller.abort()
    const settled = await outcome
    assert.equal(settled.status, 'failed')
    assert.equal(settled.reason, 'cancelled')
    assert.equal(await containersLeft(), 0)
  })

  it('pauses running tasks, gives paused ones back, and counts their CPU time', async () => {
    const spinning = runtime.run(request(['sh', '-c', 'while :; do :; done']))
    let cpuMs = 0
    await waitFor(async () => (cpuMs = await runtime.cpuMs()) > 0, 30_000, 'the task to use CPU time')
    await runtime.pauseAll()
    const states = await Promise.all((await runtime.engine.json<Array<{ State: string }>>('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`org.conun.workdir=${join(scratch, 'work')}`] }))}`)).map(c => c.State))
    assert.deepEqual(states, ['paused'])
    await runtime.giveBackPaused('the owner needs the machine')
    const outcome = await spinning
    assert.equal(outcome.status, 'failed')
    assert.equal(outcome.reason, 'given-back')
    assert.equal(outcome.message, 'the owner needs the machine')
    await runtime.resumeAll()
    assert.ok(await runtime.cpuMs() >= cpuMs, 'CPU time of removed containers is kept')
    assertExit(await runtime.run(request(['true'])))
  })

  it('rejects a request the engine could not honour', async () => {
    await assert.rejects(runtime.run(request(['true'], { limits: { ...LIMITS, memoryBytes: MiB } })), /at least/)
  })

  it('removes containers a previous run of the same work folder left behind', async () => {
    const orphan = await runtime.engine.json<{ Id: string }>('POST', '/containers/create', {
      body: { Image: (await runtime.engine.json<{ Id: string }>('GET', '/images/conun%2Fbusybox:1/json')).Id, Cmd: ['true'], Labels: { 'org.conun.workdir': join(scratch, 'work') } },
    })
    assert.equal(await containersLeft(), 1)
    const second = await createDockerRuntime({ slots: 1, workDir: join(scratch, 'work') })
    await second.close()
    assert.equal(await containersLeft(), 0, `orphan ${orphan.Id} was removed`)
  })
})
