import { join } from 'node:path'
import { createDockerRuntime, createWasiRuntime, createWebGpuRuntime, detectDocker, detectGpu } from '../runtime/index.ts'
import { ConfigError } from './config.ts'
import type { NodeConfig } from './config.ts'
import type { Runtime } from '../runtime/index.ts'

/**
 * The sandboxes a provider runs, as its configuration allows: WASI (or `wasi`, a replacement for
 * it, e.g. a test's), Docker when the engine answers on its socket, and WebGPU when a GPU adapter
 * is found (or SwiftShader's, with `softwareGpu`); a machine without Docker or a GPU never offers them.
 */
export async function providerRuntimes (config: NodeConfig, wasi?: (config: NodeConfig) => Runtime): Promise<Runtime[]> {
  const { dataDir, provider } = config
  const runtimes: Runtime[] = []
  if (provider.runtimes.includes('wasi')) {
    runtimes.push(wasi?.(config) ?? createWasiRuntime({ slots: provider.cores, workDir: join(dataDir, 'sandbox') }))
  }
  if (provider.runtimes.includes('docker') && await detectDocker(provider.dockerSocket)) {
    runtimes.push(await createDockerRuntime({ slots: provider.cores, workDir: join(dataDir, 'containers'), socketPath: provider.dockerSocket }))
  }
  if (provider.runtimes.includes('webgpu')) {
    const gpu = await detectGpu({ fallback: provider.softwareGpu, measure: true })
    if (gpu !== null) runtimes.push(createWebGpuRuntime({ gpu }))
  }
  if (runtimes.length === 0) throw new ConfigError(`none of the runtimes this provider allows (${provider.runtimes.join(', ')}) is available here`)
  return runtimes
}
