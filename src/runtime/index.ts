/** The runtime domain's public door: the sandbox contract and the WASI, Docker and WebGPU runtimes that fulfil it. */
export type {
  OutputFile,
  Runtime,
  RuntimeName,
  TaskFailureReason,
  TaskLimits,
  TaskRunOutcome,
  TaskRunRequest,
  TaskUsage,
} from './types.ts'
export { createWasiRuntime } from './wasi/createWasiRuntime.ts'
export { prepareWorkerScript } from './wasi/workerScript.ts'
export type { WasiRuntime, WasiRuntimeOptions, WasiRuntimeStats } from './wasi/createWasiRuntime.ts'
export { capMemory, PAGE_BYTES } from './wasi/capMemory.ts'
export type { CappedModule, MemoryDescriptor } from './wasi/capMemory.ts'
export { TaskFailure } from './wasi/errors.ts'
export { ENTRY_BYTES, entryOverLimit, ERRNO_MFILE, ERRNO_PERM, ERRNO_ROFS, ERRNO_SUCCESS, MAX_TASK_FDS, nearMemoryCap, OFLAGS_WRITING, openOrCreate, RIGHTS_WRITING } from './wasi/sandboxRules.ts'
export { createDockerRuntime } from './docker/createDockerRuntime.ts'
export type { DockerRuntime, DockerRuntimeOptions, DockerRuntimeStats } from './docker/createDockerRuntime.ts'
export { createDockerEngine, DEFAULT_DOCKER_SOCKET, detectDocker } from './docker/engine.ts'
export type { DockerEngine } from './docker/engine.ts'
export { DockerEngineError } from './docker/errors.ts'
export { paxRecord, tarball } from './docker/tarWriter.ts'
export type { TarEntry } from './docker/tarWriter.ts'
export { createWebGpuRuntime } from './webgpu/createWebGpuRuntime.ts'
export type { WebGpuRuntime, WebGpuRuntimeOptions } from './webgpu/createWebGpuRuntime.ts'
export { detectGpu, SWIFTSHADER_ICD } from './webgpu/detectGpu.ts'
export type { DetectedGpu } from './webgpu/detectGpu.ts'
export type { GpuInfo, GpuReply } from './webgpu/protocol.ts'
export { gpuPlan } from './webgpu/gpuPlan.ts'
export { checkGpuTask } from './webgpu/checkGpuTask.ts'
export type { CheckedGpuTask } from './webgpu/checkGpuTask.ts'
export { describeAdapter, runGpuPlan } from './webgpu/runGpuPlan.ts'
export type { GpuTask } from './webgpu/runGpuPlan.ts'
export { MATMUL_TILE, matmulWgslPath } from './webgpu/matmulKernel.ts'
export { measureGflops } from './webgpu/measureGflops.ts'
export type { GpuPlan } from './webgpu/gpuPlan.ts'
