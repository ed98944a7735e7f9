import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createWebGpuRuntime, detectGpu, type DetectedGpu, type GpuPlan, type TaskRunOutcome, type TaskRunRequest, type WebGpuRuntime } from '../index.ts'
import { EXACT_MATMUL, exactMatrices } from '../../../test/fixtures/exactMatmul.ts'
import { cpuMatmul } from '../../../examples/gpu-matmul/matrices.ts'

const LIMITS = { memoryBytes: 16 * 1024 * 1024, timeoutMs: 60_000, outputBytes: 1024 * 1024 }
const N = 32

const MATMUL_PLAN: GpuPlan = {
  buffers: [
    { name: 'a', binding: 0, input: 'a.bin' },
    { name: 'b', binding: 1, input: 'b.bin' },
    { name: 'params', binding: 2, params: 'u32' },
    { name: 'c', binding: 3, output: 'c.bin', size: N * N * 4 },
  ],
  passes: [{ entry: 'matmul', dispatch: [N / 8, N / 8] }],
}
let scratch: string
let gpu: DetectedGpu | null
let runtime: WebGpuRuntime | undefined
const { a, b } = exactMatrices(N)

async function task (name: string, wgsl: string, plan: GpuPlan, params: string[], extra: Partial<TaskRunRequest> = {}): Promise<TaskRunOutcome> {
  const modulePath = join(scratch, `${name}.wgsl`)
  await writeFile(modulePath, wgsl)
  return runtime!.run({
    moduleCid: name,
    modulePath,
    args: [JSON.stringify(plan), ...params],
    env: {},
    inputs: [{ name: 'a.bin', path: join(scratch, 'a.bin') }, { name: 'b.bin', path: join(scratch, 'b.bin') }],
    limits: LIMITS,
    ...extra,
  })
}

function assertFailed (outcome: TaskRunOutcome, reason: string): asserts outcome is Extract<TaskRunOutcome, { status: 'failed' }> {
  assert.equal(outcome.status, 'failed', 'the task should have failed')
  assert.equal(outcome.reason, reason, outcome.message)
}

// Hostile kernels (one that never ends, out-of-bounds indexing, a dispatch or buffers over the
// limits) are in the hostile-task catalogue, test/hostile.test.ts.
describe('createWebGpuRuntime', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conun-webgpu-test-'))
    await writeFile(join(scratch, 'a.bin'), new Uint8Array(a.buffer))
    await writeFile(join(scratch, 'b.bin'), new Uint8Array(b.buffer))
    process.env.CONUN_TEST_SECRET = 'not for GPU processes'
    gpu = await detectGpu()
    delete process.env.CONUN_TEST_SECRET
    if (gpu !== null) runtime = createWebGpuRuntime({ gpu })
  })

  after(async () => {
    await runtime?.close()
    await rm(scratch, { recursive: true, force: true })
  })

  const skipWithoutGpu = (t: { skip: (message: string) => void }): boolean => {
    if (gpu !== null) return false
    t.skip('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)')
    return true
  }

  it('multiplies matrices as the CPU does', async (t) => {
    if (skipWithoutGpu(t)) return
    const outcome = await task('matmul', EXACT_MATMUL, MATMUL_PLAN, [String(N)])
    assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
    assert.equal(outcome.files.length, 1)
    assert.equal(outcome.files[0]!.path, 'c.bin')
    const bytes = outcome.files[0]!.bytes
    const c = new Float32Array(bytes.slice().buffer)
    assert.deepEqual([...c], [...cpuMatmul(a, b, N)])
    assert.equal(outcome.usage.memoryBytes, 3 * N * N * 4 + 16)
  })

  it('gives GPU processes only the environment drivers read', (t) => {
    if (skipWithoutGpu(t)) return
    assert.equal(gpu!.env.CONUN_TEST_SECRET, undefined)
    assert.ok(gpu!.env.XDG_RUNTIME_DIR !== undefined)
  })

  it('fails a WGSL syntax error as invalid-module, with the compiler\'s message', async (t) => {
    if (skipWithoutGpu(t)) return
    const outcome = await task('broken', EXACT_MATMUL.replace('let n = params.x;', 'let n = params.x'), MATMUL_PLAN, [String(N)])
    assertFailed(outcome, 'invalid-module')
    assert.match(outcome.message, /WGSL does not compile/)
  })

  it('fails a plan that does not fit the module, or is malformed, as invalid-module', async (t) => {
    if (skipWithoutGpu(t)) return
    assertFailed(await task('no-entry', EXACT_MATMUL, { ...MATMUL_PLAN, passes: [{ entry: 'absent', dispatch: [1] }] }, [String(N)]), 'invalid-module')
    assertFailed(await task('bad-plan', EXACT_MATMUL, { buffers: [], passes: [] } as unknown as GpuPlan, []), 'invalid-module')
    assertFailed(await task('bad-param', EXACT_MATMUL, MATMUL_PLAN, ['thirty-two']), 'invalid-module')
  })
})
