// The hostile-task catalogue, on both runtimes where a case applies: every task must fail with a
// clear reason or be harmlessly contained, the runtime must serve the next task, and no container
// may be left. Prints a table of case → outcome at the end.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBusyboxImage } from '../scripts/build-busybox-image.ts'
import { createDockerRuntime, createWasiRuntime, MAX_TASK_FDS } from '../src/runtime/index.ts'
import { buildWasiFixture } from './fixtures/wasi/buildFixtures.ts'
import type { DockerRuntime, Runtime, TaskLimits, TaskRunOutcome, TaskRunRequest } from '../src/runtime/index.ts'

const MiB = 1024 * 1024
const LIMITS: TaskLimits = { memoryBytes: 32 * MiB, timeoutMs: 3000, outputBytes: MiB }
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8')

interface HostileCase {
  readonly name: string
  readonly docker?: string
  readonly wasi?: string
  readonly limits?: Partial<TaskLimits>
  /** Why the case does not apply to a runtime, for the table. */
  readonly notApplicable?: { readonly docker?: string, readonly wasi?: string }
  /** Checks the outcome and says in a few words what happened. */
  readonly check: (outcome: TaskRunOutcome, runtime: 'docker' | 'wasi') => string
}

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
  { name: 'memory hog', docker: 'awk \'BEGIN { s = "x"; while (1) s = s s }\'', wasi: 'memhog', check: failedWith('memory-limit') },
  { name: 'CPU spin past the timeout', docker: 'while :; do :; done', wasi: 'loop', limits: { timeoutMs: 1000 }, check: failedWith('timeout') },
  { name: 'network access', docker: 'ip -o addr | grep -v " lo " && echo ESCAPED: an interface; nc -w 1 1.1.1.1 80 </dev/null && echo ESCAPED: connected', check: contained(/Network is unreachable/), notApplicable: { wasi: 'no socket imports are given' } },
  {
    name: 'writing outside /out',
    docker: 'for p in /etc/pwned /pwned /in/pwned /bin/pwned /in/x; do (echo x > $p) && echo "ESCAPED: wrote $p"; done; exit 0',
    wasi: 'escape',
    check: (outcome, runtime) => runtime === 'wasi' ? wasiEscapeBlocked(outcome) : contained(/Read-only file system/)(outcome),
  },
  { name: 'reading host files', docker: 'cat "$HOST_SECRET" /etc/shadow /proc/1/root/etc/hostname; ls /proc/1/root/ 2>&1 | grep -q home && echo ESCAPED: host root; exit 0', wasi: 'escape', check: (outcome, runtime) => runtime === 'wasi' ? wasiEscapeBlocked(outcome) : contained(/No such file|Permission denied/)(outcome) },
  { name: 'stdout flood', docker: 'yes', wasi: 'flood', check: failedWith('output-limit') },
  { name: 'huge file in /out', docker: 'dd if=/dev/zero of=/out/big bs=1M count=100', wasi: 'bigout', check: failedWith('output-limit') },
  { name: 'many empty files in /out', docker: 'i=0; while [ $i -lt 5000 ]; do : > /out/f$i; i=$((i+1)); done', wasi: 'manyfiles', limits: { timeoutMs: 20_000 }, check: failedWith('output-limit') },
  { name: 'many empty folders in /out', docker: 'i=0; while [ $i -lt 100000 ]; do mkdir /out/d$i || exit 1; i=$((i+1)); done', wasi: 'mkdirs', limits: { timeoutMs: 20_000 }, check: failedWith('output-limit') },
  { name: 'holding every fd it can open', wasi: 'holdfds', check: wasiFdsCapped, notApplicable: { docker: 'a container\'s fds belong to its own processes, not to the provider\'s' } },
  { name: 'privilege escalation', docker: 'su -c id root; mount -t tmpfs none /tmp; chown 0 /out; grep -E "CapEff|NoNewPrivs" /proc/self/status; exit 0', check: contained(/must be suid|permission denied|not permitted/), notApplicable: { wasi: 'no users or privileges in WASI' } },
  { name: 'importing an ungiven host function', wasi: 'hostimport', check: failedWith('invalid-module'), notApplicable: { docker: 'a container has syscalls, not imports' } },
]

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

let scratch: string
let image: string
let input: string
let secret: string
let docker: DockerRuntime
let wasi: Runtime
const table: string[][] = []

async function containersLeft (): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`org.conun.workdir=${join(scratch, 'docker')}`] }))
  return (await docker.engine.json<unknown[]>('GET', `/containers/json?all=1&filters=${filters}`)).length
}

async function request (runtime: 'docker' | 'wasi', task: string, limits: Partial<TaskLimits> = {}): Promise<TaskRunRequest> {
  const inputs = [{ name: 'x', path: input }]
  const all = { ...LIMITS, ...limits }
  return runtime === 'docker'
    ? { moduleCid: 'cid-busybox', modulePath: image, args: ['sh', '-c', task], env: { HOST_SECRET: secret }, inputs, limits: all }
    : { moduleCid: `cid-${task}`, modulePath: await buildWasiFixture(task), args: [], env: {}, inputs, limits: all }
}

/** The runtime still serves an ordinary task. */
async function stillServes (runtime: 'docker' | 'wasi'): Promise<void> {
  const outcome = runtime === 'docker'
    ? await docker.run(await request('docker', 'echo fine'))
    : await wasi.run(await request('wasi', 'echo'))
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
  })

  after(async () => {
    await Promise.all([docker.close(), wasi.close()])
    await rm(scratch, { recursive: true, force: true })
    const order = (row: string[]) => CASES.findIndex(hostile => hostile.name === row[0]) * 2 + (row[1] === 'docker' ? 0 : 1)
    table.sort((a, b) => order(a) - order(b))
    const width = [0, 1, 2].map(column => Math.max(...table.map(row => row[column]!.length)))
    console.log(['', ...table.map(row => row.map((cell, column) => cell.padEnd(width[column]!)).join(' | '))].join('\n'))
  })

  for (const hostile of CASES) {
    for (const runtime of ['docker', 'wasi'] as const) {
      const task = hostile[runtime]
      if (task === undefined) {
        table.push([hostile.name, runtime, `n/a: ${hostile.notApplicable?.[runtime]}`])
        continue
      }
      it(`${hostile.name} (${runtime})`, async () => {
        const outcome = await (runtime === 'docker' ? docker : wasi).run(await request(runtime, task, hostile.limits))
        assert.doesNotMatch(text(outcome.stdout), /the host secret/)
        table.push([hostile.name, runtime, hostile.check(outcome, runtime)])
        await stillServes(runtime)
        if (runtime === 'docker') assert.equal(await containersLeft(), 0, 'no container is left')
      })
    }
  }
})
