import { z } from 'zod'
import { gpuPlan } from '../runtime/index.ts'
import { ConunError } from '../util/index.ts'

/**
 * The job spec a user writes (documented in README.md). The code (`module` or `image`) and input
 * sources are local paths (relative to the spec file) or CIDs; clients upload paths and send the
 * node CIDs only.
 */
const source = z.string().min(1).max(4096)
const envMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _').max(256), z.string().max(64 * 1024))
const isInputName = (name: string) => !name.startsWith('/') && name.split('/').every(part => part !== '' && part !== '.' && part !== '..')
const inputMap = z.record(z.string().min(1).max(1024), source).superRefine((inputs, ctx) => {
  for (const name of Object.keys(inputs)) {
    if (!isInputName(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'input names are relative paths inside /in, without "." or ".." parts' })
  }
})
/** An amount of CON as a decimal string: JSON numbers cannot hold 18 decimals exactly. */
const con = z.string().regex(/^\d{1,30}(\.\d{1,18})?$/, 'an amount of CON as a string, like "0.5"')
/**
 * How far replicas' copies of one float output file may differ (see floatTolerance.ts): both bounds
 * default to 0, and at least one must be given.
 */
const floatTolerance = z.strictObject({
  type: z.enum(['f32', 'f64'], { error: 'type is "f32" or "f64": the file holds little-endian IEEE floats of that width' }),
  rel: z.number().min(0).max(1).optional(),
  abs: z.number().min(0).optional(),
}).refine(bounds => bounds.rel !== undefined || bounds.abs !== undefined, { message: 'give rel, abs or both (a file without either compares exactly: leave it out)' })
const toleranceMap = z.record(z.string().min(1).max(1024), floatTolerance).superRefine((files, ctx) => {
  const names = Object.keys(files)
  if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'name at least one file of /out' })
  if (names.length > 64) ctx.addIssue({ code: 'custom', message: `at most 64 files, not ${names.length}` })
  for (const name of names) {
    if (!isInputName(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'file names are relative paths inside /out, without "." or ".." parts' })
  }
})
const args = z.array(z.string().max(64 * 1024)).max(1024)

export const taskSpec = z.strictObject({
  args: args.default([]),
  stdin: z.string().max(1024 * 1024).optional(),
  env: envMap.optional(),
  inputs: inputMap.optional(),
})
export type TaskSpec = z.infer<typeof taskSpec>

/** Tasks generated from one template: `{i}` in args and stdin becomes 0 … count−1. */
export const rangeSpec = z.strictObject({
  count: z.number().int().min(1).max(1_000_000),
  args: args.default([]),
  stdin: z.string().max(1024 * 1024).optional(),
})

/** What every job has, whichever sandbox runs it. */
const jobFields = {
  name: z.string().min(1).max(200).optional(),
  env: envMap.optional(),
  /** Inputs every task sees under /in: name → path or CID. */
  inputs: inputMap.optional(),
  tasks: z.array(taskSpec).min(1).max(1_000_000).optional(),
  range: rangeSpec.optional(),
  limits: z.strictObject({
    memoryMb: z.number().int().min(1).max(4096).default(256),
    timeoutMs: z.number().int().min(10).max(24 * 3600 * 1000).default(60_000),
    outputMb: z.number().int().min(0).max(1024).default(64),
  }).prefault({}),
  constraints: z.strictObject({
    minCores: z.number().int().min(1).optional(),
    minMemoryMb: z.number().int().min(1).optional(),
    /** Lowest single-core speed score a provider advertises (see README). */
    minSpeed: z.number().int().min(0).optional(),
    /** Lowest GPU speed a provider measured and advertises, in GFLOP/s (webgpu jobs; see README). */
    minGpuGflops: z.number().min(0).max(10_000_000).optional(),
    /** Only these providers (PeerIds). */
    providers: z.array(z.string().min(1)).min(1).optional(),
  }).prefault({}),
  /**
   * What each accepted result earns its provider, in CON (e.g. "0.01"); "0" makes a free job, for
   * grids of one's own machines. A paid job's budget is locked in the escrow before it starts.
   */
  price: con.default('0'),
  /** CON locked for the job, at least price × tasks × replication, the most it can cost (default: that and 10 % more, to reserve ahead in; see HEADROOM_PERCENT). */
  budget: con.optional(),
  /** How many times a task may be tried (on different providers) before it fails; with replication, per replica. */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  /** Replicas of each task, each on a different provider. */
  replication: z.number().int().min(1).max(16).default(1),
  /** Identical outcomes that make a result canonical (default: a majority of the replicas). */
  quorum: z.number().int().min(1).max(16).optional(),
  /**
   * How replicas' outputs are compared (default: exactly): numbers in stdout to so many significant
   * digits; files of /out holding floats element-wise within bounds (`tolerance`: path → bounds).
   */
  compare: z.strictObject({
    significantDigits: z.number().int().min(1).max(17).optional(),
    tolerance: toleranceMap.optional(),
  }).optional(),
  /** Replicas of one task never go to providers at the same IP address. */
  distinctHosts: z.boolean().default(false),
  /** Adaptive replication: trusted providers' tasks run once, with spot checks (needs replication > 1). */
  adaptive: z.boolean().default(false),
  /** How long tasks may wait with no provider to run them before they fail (the job never hangs). */
  waitForProvidersMs: z.number().int().min(0).max(7 * 24 * 3600 * 1000).default(600_000),
}

/** A WebAssembly/WASI module; a task's args are argv[1..]. */
const wasiJob = z.strictObject({ ...jobFields, runtime: z.literal('wasi'), module: source })
/**
 * A Docker image (a `docker save` tarball, by path or CID); a task's argv is `command` followed by
 * its args, and replaces the image's entrypoint. An empty argv runs the image's own.
 */
const dockerJob = z.strictObject({ ...jobFields, runtime: z.literal('docker'), image: source, command: args.default([]) })

/**
 * A WGSL compute module (by path or CID) and its plan, `gpu`: the buffers (from /in files, the task's
 * params, outputs to /out) and the passes run over them in order. `{i}` in a pass's dispatch is the
 * task's index; a task's args fill the params buffer.
 */
const webgpuJob = z.strictObject({ ...jobFields, runtime: z.literal('webgpu'), module: source, gpu: gpuPlan })

export const jobSpec = z.discriminatedUnion('runtime', [wasiJob, dockerJob, webgpuJob], { error: 'runtime must be "wasi", "docker" or "webgpu"' })
  .refine(spec => (spec.tasks === undefined) !== (spec.range === undefined), { message: 'give either "tasks" or "range", not both and not neither', path: ['tasks'] })
  .refine(spec => (spec.quorum ?? 1) <= spec.replication, { message: 'quorum cannot be more than replication', path: ['quorum'] })
  .refine(spec => spec.runtime === 'webgpu' || spec.constraints.minGpuGflops === undefined, { message: 'minGpuGflops is for "webgpu" jobs: other runtimes do not use the GPU', path: ['constraints', 'minGpuGflops'] })
  .superRefine((spec, ctx) => {
    if (spec.runtime !== 'webgpu') return
    const outputs = new Set(spec.gpu.buffers.flatMap(buffer => 'output' in buffer && buffer.output !== undefined ? [buffer.output] : []))
    for (const name of Object.keys(spec.compare?.tolerance ?? {})) {
      if (!outputs.has(name)) ctx.addIssue({ code: 'custom', path: ['compare', 'tolerance', name], message: `no buffer of the gpu plan is output to /out/${name} (outputs: ${[...outputs].join(', ') || 'none'})` })
    }
    // A buffer's file must reach every task: from the job's inputs, or from each task's own.
    const everyTaskHas = (name: string) => spec.tasks !== undefined && spec.tasks.every(task => task.inputs?.[name] !== undefined)
    for (const [index, buffer] of spec.gpu.buffers.entries()) {
      if ('input' in buffer && spec.inputs?.[buffer.input] === undefined && !everyTaskHas(buffer.input)) {
        ctx.addIssue({ code: 'custom', path: ['gpu', 'buffers', index, 'input'], message: `buffer ${buffer.name} reads /in/${buffer.input}, which is not among the inputs` })
      }
    }
  })
export type JobSpec = z.infer<typeof jobSpec>
export type JobSpecInput = z.input<typeof jobSpec>

export class JobSpecError extends ConunError {
  override readonly name = 'JobSpecError'
  readonly code = 'invalid-spec'
  readonly kind = 'invalid'
  readonly issues: readonly string[]
  constructor (issues: readonly string[]) {
    super(`invalid job spec:\n  - ${issues.join('\n  - ')}`)
    this.issues = issues
  }
}

/** Validates a job spec, throwing JobSpecError with one line per problem. */
export function parseJobSpec (json: unknown): JobSpec {
  const parsed = jobSpec.safeParse(json)
  if (!parsed.success) {
    throw new JobSpecError(parsed.error.issues.map(issue => `${issue.path.length > 0 ? issue.path.join('.') : '(spec)'}: ${issue.message}`))
  }
  return parsed.data
}

/**
 * The job's tasks, with a range expanded and put in front of each task's args: a Docker job's
 * command, or a WebGPU job's plan (as JSON, with `{i}` filled in: the runtime reads it from there).
 */
export function expandTasks (spec: JobSpec): TaskSpec[] {
  const fill = (template: string, i: number) => template.replaceAll('{i}', String(i))
  const plan = spec.runtime === 'webgpu' ? JSON.stringify(spec.gpu) : undefined
  const prefix = (i: number) => spec.runtime === 'docker' ? spec.command : plan === undefined ? [] : [fill(plan, i)]
  if (spec.tasks !== undefined) return spec.tasks.map((task, i) => ({ ...task, args: [...prefix(i), ...task.args] }))
  const range = spec.range!
  return Array.from({ length: range.count }, (_, i) => ({
    args: [...prefix(i), ...range.args.map(arg => fill(arg, i))],
    ...(range.stdin === undefined ? {} : { stdin: fill(range.stdin, i) }),
  }))
}

/**
 * A range job without stdin as one template (see TaskTemplate): args as expandTasks builds them,
 * with `{i}` left in, and how many leading ones are literal (a Docker job's command). Undefined
 * for jobs that list their tasks, or give each task its own stdin: those store every definition.
 */
export function rangeTemplate (spec: JobSpec): { args: string[], literal: number, count: number } | undefined {
  if (spec.range === undefined || spec.range.stdin !== undefined) return undefined
  const literal = spec.runtime === 'docker' ? spec.command : []
  const plan = spec.runtime === 'webgpu' ? [JSON.stringify(spec.gpu)] : []
  return { args: [...literal, ...plan, ...spec.range.args], literal: literal.length, count: spec.range.count }
}

/** The code tasks run: the WASI or WGSL module, or the Docker image tarball. */
export function codeOf (spec: JobSpec): string {
  return spec.runtime === 'docker' ? spec.image : spec.module
}

/** The quorum a spec asks for: as given, or a majority of its replicas. */
export function quorumOf (spec: JobSpec): number {
  return spec.quorum ?? Math.floor(spec.replication / 2) + 1
}

/** Every local path or CID the spec refers to (code and inputs), for clients to upload. */
export function specSources (spec: JobSpec): string[] {
  const sources = new Set<string>([codeOf(spec), ...Object.values(spec.inputs ?? {})])
  for (const task of spec.tasks ?? []) for (const value of Object.values(task.inputs ?? {})) sources.add(value)
  return [...sources]
}

/** The same spec with every source replaced through `resolve` (e.g. path → CID). */
export function mapSources (spec: JobSpec, resolve: (source: string) => string): JobSpec {
  const mapInputs = (inputs: Record<string, string> | undefined) =>
    inputs === undefined ? undefined : Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, resolve(value)]))
  return {
    ...spec,
    ...(spec.runtime === 'docker' ? { image: resolve(spec.image) } : { module: resolve(spec.module) }),
    ...(spec.inputs === undefined ? {} : { inputs: mapInputs(spec.inputs) }),
    ...(spec.tasks === undefined ? {} : { tasks: spec.tasks.map(task => ({ ...task, ...(task.inputs === undefined ? {} : { inputs: mapInputs(task.inputs) }) })) }),
  }
}
