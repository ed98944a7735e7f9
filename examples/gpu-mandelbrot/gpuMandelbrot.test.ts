// The GPU Mandelbrot, small, on SwiftShader: two providers run every tile (replication 2, their mu
// compared under compare.tolerance), and the picture is within tolerance of the WASI example's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detectGpu } from '../../src/runtime/index.ts'
import { CHANNEL_TOLERANCE, MAX_OFF_PIXELS, offPixels, runGpuMandelbrot } from './gpuMandelbrot.ts'

test('a pixel is off when one channel is further than the tolerance', () => {
  const reference = Uint8Array.of(10, 10, 10, 200, 200, 200)
  assert.equal(offPixels(Uint8Array.of(10 + CHANNEL_TOLERANCE, 10, 10, 200, 200, 200 - CHANNEL_TOLERANCE), reference), 0)
  assert.equal(offPixels(Uint8Array.of(10, 10 + CHANNEL_TOLERANCE + 1, 10, 200, 200, 200), reference), 0.5)
})

if (await detectGpu() === null) {
  test('gpu mandelbrot', t => t.skip('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)'))
} else {
  test('the GPU picture, replicated on two providers, is within tolerance of the WASI one', async (t) => {
    const outDir = await mkdtemp(join(tmpdir(), 'conun-gpu-mandelbrot-'))
    t.after(() => rm(outDir, { recursive: true, force: true }))
    const report = await runGpuMandelbrot({ width: 160, height: 120, tileSize: 40, maxIter: 200, providers: 2, replication: 2, outDir })
    assert.equal(report.tasks, 12)
    assert.ok(report.offPixels <= MAX_OFF_PIXELS, `${(report.offPixels * 100).toFixed(2)} % of pixels are more than ${CHANNEL_TOLERANCE} off the WASI picture`)
    assert.ok(report.verified)
    assert.ok(existsSync(report.pngPath))
  })
}
