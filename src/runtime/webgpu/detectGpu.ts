/** Finds a WebGPU adapter for the provider at start, and the environment its GPU processes need. */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawnGpuProcess } from './spawnGpuProcess.ts'
import type { GpuInfo } from './protocol.ts'

/**
 * Chromium's SwiftShader Vulkan driver (Debian `chromium`): a CPU implementation that Dawn accepts
 * where Mesa's lavapipe is refused, so machines without a GPU (and CI) still run WebGPU tasks, slowly.
 */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json'
/** Loading Dawn and asking for an adapter takes well under a second; a wedged driver gets this long. */
const PROBE_TIMEOUT_MS = 30_000
/** The speed measurement takes about a second on SwiftShader, less on a GPU. */
const MEASURE_TIMEOUT_MS = 60_000

/**
 * What of the node's environment GPU processes see: what loaders and drivers read, never the rest
 * (a passphrase in $CONUN_PASSPHRASE, say) — the process runs code from strangers.
 */
const DRIVER_ENV = /^(PATH|HOME|TMPDIR|LD_LIBRARY_PATH|XDG_RUNTIME_DIR|VK_.*|__NV.*|__GL.*|MESA_.*|DAWN_.*)$/

export interface DetectedGpu {
  readonly info: GpuInfo
  /** The environment GPU processes run with (e.g. the Vulkan driver chosen). */
  readonly env: Readonly<Record<string, string>>
}

/**
 * The system's adapter, else SwiftShader's when it is installed and `fallback` allows; null when
 * neither answers. With `measure`, its speed too (`gflops`; left out if the measurement fails).
 */
export async function detectGpu (options: { fallback?: boolean, measure?: boolean } = {}): Promise<DetectedGpu | null> {
  const base: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && DRIVER_ENV.test(key)) base[key] = value
  // Dawn warns on every start without it.
  base.XDG_RUNTIME_DIR ??= tmpdir()
  const candidates = [base]
  if ((options.fallback ?? true) && base.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    candidates.push({ ...base, VK_ICD_FILENAMES: SWIFTSHADER_ICD })
  }
  for (const env of candidates) {
    const result = await spawnGpuProcess({ kind: 'probe' }, env, PROBE_TIMEOUT_MS)
    if (result.kind !== 'reply' || result.reply.kind !== 'probe' || result.reply.gpu === null) continue
    const info = result.reply.gpu
    if (options.measure !== true) return { info, env }
    const measured = await spawnGpuProcess({ kind: 'measure' }, env, MEASURE_TIMEOUT_MS)
    const gflops = measured.kind === 'reply' && measured.reply.kind === 'measure' ? measured.reply.gflops : undefined
    return { info: { ...info, ...(gflops === undefined ? {} : { gflops: Number(gflops.toPrecision(3)) }) }, env }
  }
  return null
}
