import { join } from 'node:path'
import { createDockerRuntime, createWasiRuntime, detectDocker } from '../runtime/index.ts'
import { ConfigError } from './config.ts'
import type { NodeConfig } from './config.ts'
import type { Runtime } from '../runtime/index.ts'

/**
 * The sandboxes a provider runs, as its configuration allows: WASI (or `wasi`, a replacement for
 * it, e.g. a test's), and Docker when the engine answers on its socket; a machine without Docker
 * never offers it.
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
  if (runtimes.length === 0) throw new ConfigError(`none of the runtimes this provider allows (${provider.runtimes.join(', ')}) is available here`)
  return runtimes
}
