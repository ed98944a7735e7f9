import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createWebGpuRuntime, detectGpu, type DetectedGpu, type GpuPlan, type TaskRunOutcome, type TaskRunRequest, type WebGpuRuntime } from '../index.ts'

const LIMITS = { memoryBytes: 16 * 1024 * 1024, timeoutMs: 60_000, outputBytes: 1024 * 1024 }
const N = 32

/** C = A × B for N×N f32 matrices; small whole numbers keep every sum exact, so results compare bit for bit. */
const MATMUL = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> params: vec4<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(8, 8)
fn matmul(@builtin(global_invocation_id) id: vec3<u32>) {
  let n = params.x;
  if (id.x >= n || id.y >= n) { return; }
  var sum = 0.0;
  for (var k = 0u; k < n; k++) { sum += a[id.y * n + k] * b[k * n + id.x]; }
  c[id.y * n + id.x] = sum;
}
`
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
const a = Float32Array.from({ length: N * N }, (_, i) => (i * 7) % 5)
const b = Float32Array.from({ length: N * N }, (_, i) => (i * 3) % 4 - 1)

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
    const outcome = await task('matmul', MATMUL, MATMUL_PLAN, [String(N)])
    assert.equal(outcome.status, 'exit', outcome.status === 'failed' ? `${outcome.reason}: ${outcome.message}` : '')
    assert.equal(outcome.files.length, 1)
    assert.equal(outcome.files[0]!.path, 'c.bin')
    const bytes = outcome.files[0]!.bytes
    const c = new Float32Array(bytes.slice().buffer)
    const expected = new Float32Array(N * N)
    for (let row = 0; row < N; row++) {
      for (let col = 0; col < N; col++) {
        let sum = 0
        for (let k = 0; k < N; k++) sum += a[row * N + k]! * b[k * N + col]!
        expected[row * N + col] = sum
      }
    }
    assert.deepEqual([...c], [...expected])
    assert.equal(outcome.usage.memoryBytes, 3 * N * N * 4 + 16)
  })

  it('gives GPU processes only the environment drivers read', (t) => {
    if (skipWithoutGpu(t)) return
    assert.equal(gpu!.env.CONUN_TEST_SECRET, undefined)
    assert.ok(gpu!.env.XDG_RUNTIME_DIR !== undefined)
  })

  it('fails a WGSL syntax error as invalid-module, with the compiler\'s message', async (t) => {
    if (skipWithoutGpu(t)) return
    const outcome = await task('broken', MATMUL.replace('let n = params.x;', 'let n = params.x'), MATMUL_PLAN, [String(N)])
    assertFailed(outcome, 'invalid-module')
    assert.match(outcome.message, /WGSL does not compile/)
  })

  it('fails a plan that does not fit the module, or is malformed, as invalid-module', async (t) => {
    if (skipWithoutGpu(t)) return
    assertFailed(await task('no-entry', MATMUL, { ...MATMUL_PLAN, passes: [{ entry: 'absent', dispatch: [1] }] }, [String(N)]), 'invalid-module')
    assertFailed(await task('bad-plan', MATMUL, { buffers: [], passes: [] } as unknown as GpuPlan, []), 'invalid-module')
    assertFailed(await task('bad-param', MATMUL, MATMUL_PLAN, ['thirty-two']), 'invalid-module')
  })
})
