// The hostile-task catalogue, on every runtime where a case applies (Docker, WASI, and WebGPU where
// an adapter is found, SwiftShader's included): every task must fail with a clear reason or be
// harmlessly contained, the runtime must serve the next task, and no container may be left. Prints
// a table of case → outcome at the end.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBusyboxImage } from '../scripts/build-busybox-image.ts'
import { createDockerRuntime, createWasiRuntime, createWebGpuRuntime, detectGpu, MAX_TASK_FDS } from '../src/runtime/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { imageFiles, loadAsProvider, manifest, paxRecord, tarball, testImage } from './fixtures/docker/images.ts'
import { ENDLESS, FILL, HUGE_DISPATCH, NEIGHBOUR_MARK, OOB_ELEMENTS, OUT_OF_BOUNDS, outputOf, scratchOf, WILD_MARK } from './fixtures/hostileGpuTasks.ts'
import type { TarPiece, TestImage } from './fixtures/docker/images.ts'
import type { GpuTask } from './fixtures/hostileGpuTasks.ts'
import type { DockerRuntime, Runtime, TaskLimits, TaskRunOutcome, TaskRunRequest, WebGpuRuntime } from '../src/runtime/index.ts'

const MiB = 1024 * 1024
const LIMITS: TaskLimits = { memoryBytes: 32 * MiB, timeoutMs: 3000, outputBytes: MiB }
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8')

const RUNTIMES = ['docker', 'wasi', 'webgpu'] as const
type RuntimeName = typeof RUNTIMES[number]

interface HostileCase {
  readonly name: string
  readonly docker?: string
  readonly wasi?: string
  readonly webgpu?: GpuTask
  readonly limits?: Partial<TaskLimits>
  /** A hostile image tarball the Docker task runs in, instead of the busybox image. */
  readonly image?: () => Promise<Buffer>
  /** Why the case does not apply to a runtime, for the table. */
  readonly notApplicable?: { readonly docker?: string, readonly wasi?: string, readonly webgpu?: string }
  /** Checks the outcome and says in a few words what happened. */
  readonly check: (outcome: TaskRunOutcome, runtime: RuntimeName) => string
}
/** Why most cases do not apply to a WGSL kernel. */
const KERNEL_HAS_BUFFERS_ONLY = 'a kernel has its buffers only: no files, processes, network, stdout or imports'

const failedWith = (reason: string) => (outcome: TaskRunOutcome) => {
  assert.equal(outcome.status, 'failed', `expected ${reason}, got exit ${outcome.status === 'exit' ? outcome.exitCode : ''}: ${text(outcome.stderr)}`)
  assert.equal(outcome.reason, reason, outcome.message)
  return `failed: ${reason}`
}
/** Ran to an exit, with nothing in its output showing that an attempt worked. */
const contained = (expectStderr: RegExp) => (outcome: TaskRunOutcome) => {
  assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
  assert.doesNotMatch(text(outcome.stdout), /ESCAPED|uid=0\(/)
  assert.match(text(outcome.stderr), expectStderr)
  return `contained, exit ${outcome.exitCode}: ${text(outcome.stderr).split('\n').find(line => expectStderr.test(line))?.trim().slice(0, 60)}`
}

const CASES: HostileCase[] = [
  // Stopped by the pids limit: the shell either dies of a failed fork or spins on until the wall clock.
  { name: 'fork bomb', docker: 'f(){ f | f & }; f; sleep 10', check: outcome => outcome.status === 'failed' ? failedWith('timeout')(outcome) : contained(/can't fork/)(outcome), notApplicable: { wasi: 'no processes in WASI preview 1' } },
  { name: 'memory hog', docker: 'awk \'BEGIN { s = "x"; while (1) s = s s }\'', wasi: 'memhog', webgpu: scratchOf(2 * LIMITS.memoryBytes), check: failedWith('memory-limit') },
  { name: 'CPU spin past the timeout', docker: 'while :; do :; done', wasi: 'loop', limits: { timeoutMs: 1000 }, check: failedWith('timeout'), notApplicable: { webgpu: 'see GPU kernel that never ends' } },
  { name: 'network access', docker: 'ip -o addr | grep -v " lo " && echo ESCAPED: an interface; nc -w 1 1.1.1.1 80 </dev/null && echo ESCAPED: connected', check: contained(/Network is unreachable/), notApplicable: { wasi: 'no socket imports are given' } },
  {
    name: 'writing outside /out',
    docker: 'for p in /etc/pwned /pwned /in/pwned /bin/pwned /in/x; do (echo x > $p) && echo "ESCAPED: wrote $p"; done; exit 0',
    wasi: 'escape',
    check: (outcome, runtime) => runtime === 'wasi' ? wasiEscapeBlocked(outcome) : contained(/Read-only file system/)(outcome),
  },
  { name: 'reading host files', docker: 'cat "$HOST_SECRET" /etc/shadow /proc/1/root/etc/hostname; ls /proc/1/root/ 2>&1 | grep -q home && echo ESCAPED: host root; exit 0', wasi: 'escape', check: (outcome, runtime) => runtime === 'wasi' ? wasiEscapeBlocked(outcome) : contained(/No such file|Permission denied/)(outcome) },
  { name: 'stdout flood', docker: 'yes', wasi: 'flood', check: failedWith('output-limit') },
  { name: 'huge file in /out', docker: 'dd if=/dev/zero of=/out/big bs=1M count=100', wasi: 'bigout', webgpu: outputOf(2 * LIMITS.outputBytes), check: failedWith('output-limit') },
  { name: 'many empty files in /out', docker: 'i=0; while [ $i -lt 5000 ]; do : > /out/f$i; i=$((i+1)); done', wasi: 'manyfiles', limits: { timeoutMs: 20_000 }, check: failedWith('output-limit') },
  { name: 'many empty folders in /out', docker: 'i=0; while [ $i -lt 100000 ]; do mkdir /out/d$i || exit 1; i=$((i+1)); done', wasi: 'mkdirs', limits: { timeoutMs: 20_000 }, check: failedWith('output-limit') },
  { name: 'holding every fd it can open', wasi: 'holdfds', check: wasiFdsCapped, notApplicable: { docker: 'a container\'s fds belong to its own processes, not to the provider\'s' } },
  { name: 'privilege escalation', docker: 'su -c id root; mount -t tmpfs none /tmp; chown 0 /out; grep -E "CapEff|NoNewPrivs" /proc/self/status; exit 0', check: contained(/must be suid|permission denied|not permitted/), notApplicable: { wasi: 'no users or privileges in WASI' } },
  { name: 'importing an ungiven host function', wasi: 'hostimport', check: failedWith('invalid-module'), notApplicable: { docker: 'a container has syscalls, not imports' } },
  // The GPU process is killed at the deadline; the next task gets a fresh process and device. More
  // time than the CPU spin: the GPU process and device start within it (SwiftShader is slow to).
  { name: 'GPU kernel that never ends', webgpu: ENDLESS, limits: { timeoutMs: 5000 }, check: failedWith('timeout'), notApplicable: { docker: 'see CPU spin', wasi: 'see CPU spin' } },
  { name: 'GPU buffer over the adapter\'s binding limit', webgpu: scratchOf(2 ** 40), limits: { memoryBytes: 2 ** 41 }, check: failedWith('memory-limit'), notApplicable: { docker: 'no GPU buffers', wasi: 'no GPU buffers' } },
  { name: 'GPU dispatch over the adapter\'s limits', webgpu: HUGE_DISPATCH, check: failedWith('invalid-module'), notApplicable: { docker: 'no GPU dispatches', wasi: 'no GPU dispatches' } },
  { name: 'GPU out-of-bounds indexing', webgpu: OUT_OF_BOUNDS, check: gpuIndexingContained, notApplicable: { docker: 'no GPU buffers', wasi: 'a module\'s loads and stores past its memory trap' } },
]

/**
 * The out-of-bounds kernel read only values of its own small buffer (zeros, or its own wild writes
 * clamped into it), never its neighbour's mark, and its wild writes left the neighbour whole.
 */
function gpuIndexingContained (outcome: TaskRunOutcome): string {
  assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
  const words = (path: string) => {
    const file = outcome.files.find(f => f.path === path)
    assert.ok(file !== undefined, `${path} came back`)
    return [...new Uint32Array(file.bytes.slice().buffer)]
  }
  const seen = words('seen.bin')
  assert.equal(seen.length, OOB_ELEMENTS)
  assert.deepEqual([...new Set(seen)].filter(value => value !== 0 && value !== WILD_MARK), [], 'reads past the buffer saw only the buffer\'s own values')
  assert.deepEqual(words('neighbour.bin'), Array(OOB_ELEMENTS).fill(NEIGHBOUR_MARK), 'writes past the buffer never reached the neighbour')
  return `contained: ${OOB_ELEMENTS} wild reads saw only its own buffer, wild writes left the neighbour whole`
}

/** The holdfds fixture opens /in until it fails: it gets the cap, and the process keeps the rest. */
function wasiFdsCapped (outcome: TaskRunOutcome): string {
  assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
  const held = Number(/^held (\d+) fds/.exec(text(outcome.stdout))?.[1])
  assert.ok(held + 2 <= MAX_TASK_FDS, `the task held ${held} fds besides its 2 preopens`)
  return `contained, exit ${outcome.exitCode}: held ${held} fds + 2 preopens, then EMFILE`
}

/** The escape fixture prints one line per attempt; every one must be blocked. */
function wasiEscapeBlocked (outcome: TaskRunOutcome): string {
  assert.equal(outcome.status, 'exit')
  const report = text(outcome.stdout)
  assert.doesNotMatch(report, /ESCAPED/)
  return `contained: ${report.split('\n').filter(line => line.startsWith('blocked')).length} attempts blocked`
}

// Hostile images (Docker only): tarballs that try to move a tag the provider uses — a harmless
// manifest.json first, then the real one hidden where a reader that stops at the first name match
// does not look, while the engine's reader keeps the last — and image configs that reach past the
// container's caps. A tag of the provider's own (VICTIM_TAG) must name the same image after each case.
const VICTIM_TAG = `conun-hostile/victim:${process.pid}`
/** One tar entry as its bytes (header, data, padding), to hide inside another entry's data. */
const entryBytes = (piece: TarPiece) => tarball([piece]).subarray(0, -1024)
/** Fails with invalid-image, for this reason. */
const refused = (why: RegExp) => (outcome: TaskRunOutcome) => {
  failedWith('invalid-image')(outcome)
  const message = outcome.status === 'failed' ? outcome.message : ''
  assert.match(message, why)
  return `failed: invalid-image (${message.replace(/^the image tarball is refused: /, '').slice(0, 50)})`
}
/** Ids of the images the cases build; the runtime tags those it loads `conun-image:<hex>`. */
const caseImages = new Set<string>()
const imageCase = (name: string, docker: string, image: (image: TestImage) => TarPiece[], settings: Record<string, unknown>, check: HostileCase['check'], extraLayer?: TarPiece[]): HostileCase => ({
  name,
  docker,
  image: async () => {
    const built = await testImage(settings, extraLayer)
    caseImages.add(built.id)
    return tarball(image(built))
  },
  check,
  notApplicable: { wasi: 'a module is not an image tarball', webgpu: 'a kernel is not an image tarball' },
})
const ownManifest = (image: TestImage) => [...imageFiles(image), { name: 'manifest.json', data: manifest(image) }]
/** A harmless manifest.json, then `trick`: a second one, naming the provider's tag, hidden in some way. */
const tarballTrick = (name: string, trick: (evilManifest: string) => TarPiece[]) => imageCase(name, 'echo ran', image =>
  [...ownManifest(image), ...trick(manifest(image, [VICTIM_TAG]))], {}, refused(/the image tarball is refused/))
CASES.push(
  tarballTrick('image tarball: a second manifest.json', evil => [{ name: 'manifest.json', data: evil }]),
  tarballTrick('image tarball: manifest.json by a pax path', evil => [{ name: 'PaxHeaders/x', type: 'x', data: paxRecord('path', 'manifest.json') }, { name: 'x', data: evil }]),
  tarballTrick('image tarball: manifest.json by a GNU long name', evil => [{ name: '././@LongLink', type: 'L', gnu: true, data: 'manifest.json\0' }, { name: 'x', gnu: true, data: evil }]),
  tarballTrick('image tarball: manifest.json by the ustar prefix', evil => [{ prefix: '.', name: 'manifest.json', data: evil }]),
  tarballTrick('image tarball: x/../manifest.json', evil => [{ name: 'x/../manifest.json', data: evil }]),
  tarballTrick('image tarball: manifest.json in a folder entry\'s data', evil => [{ name: 'd/', type: '5', data: entryBytes({ name: 'manifest.json', data: evil }) }]),
  tarballTrick('image tarball: manifest.json past a pax size of 0', evil => [{ name: 'PaxHeaders/f', type: 'x', data: paxRecord('size', '0') }, { name: 'f', data: entryBytes({ name: 'manifest.json', data: evil }) }]),
  tarballTrick('image tarball: a device node', () => [{ name: 'disk', type: '4' }]),
  imageCase('image tarball: a layer symlinked outside it', 'echo ran', image => {
    const config = imageFiles(image)[0]!
    return [config, { name: 'layer.tar', type: '2', link: '../../../../etc/passwd' }, { name: 'manifest.json', data: JSON.stringify([{ Config: config.name, Layers: ['layer.tar'] }]) }]
  }, {}, refused(/outside the archive/)),
  imageCase('image with a VOLUME (storage outside the output limit)', 'dd if=/dev/zero of=/data/big bs=1M count=8 && echo "ESCAPED: 8 MiB in /data"', ownManifest,
    { Volumes: { '/data': {} } }, refused(/declares volumes \(\/data\)/), [{ name: 'data/', type: '5', mode: 0o1777 }]),
  imageCase('image with a HEALTHCHECK (commands outside the task\'s argv)', 'sleep 2; cat /out/health 2>/dev/null; exit 0', ownManifest,
    { Healthcheck: { Test: ['CMD-SHELL', 'echo ESCAPED: the health check ran >> /out/health'], Interval: 50_000_000 } }, outcome => {
      assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
      assert.doesNotMatch(text(outcome.stdout), /ESCAPED/)
      assert.deepEqual(outcome.files.map(file => file.path), [])
      return 'contained: the health check never runs'
    }),
)

/** The request's image, when the case brings its own tarball. */
async function hostileImage (hostile: HostileCase): Promise<Partial<TaskRunRequest>> {
  if (hostile.image === undefined) return {}
  const modulePath = join(scratch, `image-${CASES.indexOf(hostile)}.tar`)
  await writeFile(modulePath, await hostile.image())
  return { moduleCid: `cid-hostile-image-${CASES.indexOf(hostile)}`, modulePath }
}

/** The id the provider's own tag names, asked of the engine. */
async function imageIdOf (tag: string): Promise<string> {
  return (await docker.engine.json<{ Id: string }>('GET', `/images/${encodeURIComponent(tag)}/json`)).Id
}

let scratch: string
let image: string
let input: string
let secret: string
let docker: DockerRuntime
let wasi: Runtime
/** Absent where no WebGPU adapter answers: its cases are skipped. */
let webgpu: WebGpuRuntime | undefined
let victim: TestImage
const table: string[][] = []

async function containersLeft (): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`org.conun.workdir=${join(scratch, 'docker')}`] }))
  return (await docker.engine.json<unknown[]>('GET', `/containers/json?all=1&filters=${filters}`)).length
}

async function request (runtime: RuntimeName, task: string | GpuTask, limits: Partial<TaskLimits> = {}): Promise<TaskRunRequest> {
  const inputs = [{ name: 'x', path: input }]
  const all = { ...LIMITS, ...limits }
  if (typeof task !== 'string') {
    const modulePath = join(scratch, `kernel-${++kernels}.wgsl`)
    await writeFile(modulePath, task.wgsl)
    return { moduleCid: `cid-kernel-${kernels}`, modulePath, args: [JSON.stringify(task.plan), ...task.params ?? []], env: {}, inputs, limits: all }
  }
  return runtime === 'docker'
    ? { moduleCid: 'cid-busybox', modulePath: image, args: ['sh', '-c', task], env: { HOST_SECRET: secret }, inputs, limits: all }
    : { moduleCid: `cid-${task}`, modulePath: await buildWasiFixture(task), args: [], env: {}, inputs, limits: all }
}
let kernels = 0

const runtimeOf = (runtime: RuntimeName): Runtime => runtime === 'docker' ? docker : runtime === 'wasi' ? wasi : webgpu!

/** The runtime still serves an ordinary task. */
async function stillServes (runtime: RuntimeName): Promise<void> {
  const ordinary = { docker: 'echo fine', wasi: 'echo', webgpu: FILL }[runtime]
  const outcome = await runtimeOf(runtime).run(await request(runtime, ordinary))
  assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
}

describe('hostile tasks', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conun-hostile-'))
    secret = join(scratch, 'secret.txt')
    await writeFile(secret, 'the host secret')
    input = join(scratch, 'input.txt')
    await writeFile(input, 'an input')
    image = await buildBusyboxImage()
    docker = await createDockerRuntime({ slots: 1, workDir: join(scratch, 'docker') })
    wasi = createWasiRuntime({ slots: 1, workDir: join(scratch, 'wasi') })
    const gpu = await detectGpu()
    if (gpu !== null) webgpu = createWebGpuRuntime({ gpu })
    victim = await testImage({ Labels: { 'org.conun.test': 'the provider\'s own image' } })
    await loadAsProvider(docker.engine, victim, VICTIM_TAG)
  })

  after(async () => {
    for (const image of [VICTIM_TAG, victim.id]) await docker.engine.json('DELETE', `/images/${encodeURIComponent(image)}?force=1`).catch(() => {})
    // By conun's tag, not by force: a run beside this one may be using the same image.
    for (const id of caseImages) await docker.engine.json('DELETE', `/images/conun-image:${id.slice('sha256:'.length)}`).catch(() => {})
    await Promise.all([docker.close(), wasi.close(), webgpu?.close()])
    await rm(scratch, { recursive: true, force: true })
    const order = (row: string[]) => CASES.findIndex(hostile => hostile.name === row[0]) * RUNTIMES.length + RUNTIMES.indexOf(row[1] as RuntimeName)
    table.sort((a, b) => order(a) - order(b))
    const width = [0, 1, 2].map(column => Math.max(...table.map(row => row[column]!.length)))
    console.log(['', ...table.map(row => row.map((cell, column) => cell.padEnd(width[column]!)).join(' | '))].join('\n'))
  })

  for (const hostile of CASES) {
    for (const runtime of RUNTIMES) {
      const task = hostile[runtime]
      if (task === undefined) {
        table.push([hostile.name, runtime, `n/a: ${hostile.notApplicable?.[runtime] ?? KERNEL_HAS_BUFFERS_ONLY}`])
        continue
      }
      it(`${hostile.name} (${runtime})`, async (t) => {
        if (runtime === 'webgpu' && webgpu === undefined) {
          table.push([hostile.name, runtime, 'skipped: no WebGPU adapter here'])
          return t.skip('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)')
        }
        const outcome = await runtimeOf(runtime).run({ ...await request(runtime, task, hostile.limits), ...await hostileImage(hostile) })
        assert.doesNotMatch(text(outcome.stdout), /the host secret/)
        table.push([hostile.name, runtime, hostile.check(outcome, runtime)])
        await stillServes(runtime)
        if (runtime === 'docker') assert.equal(await containersLeft(), 0, 'no container is left')
        if (runtime === 'docker') assert.equal(await imageIdOf(VICTIM_TAG), victim.id, `the provider's ${VICTIM_TAG} still names its own image`)
      })
    }
  }
})
