/**
 * What a `webgpu` task runs besides its WGSL module: the storage buffers bound in group 0 and the
 * compute passes dispatched in order over them. The plan travels as the task's first argument (JSON);
 * the remaining arguments fill its params buffer.
 */
import { z } from 'zod'

/** Most bindings and passes one plan may have: far above any real kernel, below any adapter's limits. */
const MAX_BUFFERS = 16
const MAX_PASSES = 64
/** A params buffer holds at most this many 4-byte values (a small uniform block). */
export const MAX_PARAMS = 64

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'buffer names are identifiers (letters, digits, _)')
const binding = z.number().int().min(0).max(MAX_BUFFERS - 1)
const outName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'output file names are plain names inside /out')
/** A byte size: a multiple of 4, as WGSL's types are. */
const size = z.number().int().min(4).max(2 ** 40).refine(bytes => bytes % 4 === 0, 'sizes are multiples of 4 bytes')
/** A workgroup count: a whole number, or "{i}" for the task's index (filled in before the task runs). */
const count = z.union([z.number().int().min(0).max(2 ** 31), z.string().regex(/^(\d+|\{i\})$/, 'a whole number or "{i}"')])

export type GpuBuffer =
  /** Read-only storage from a file under /in (padded with zeros to a multiple of 4 bytes). */
  | { readonly name: string, readonly binding: number, readonly input: string }
  /** A uniform buffer of the task's arguments, each as one 4-byte value of this type. */
  | { readonly name: string, readonly binding: number, readonly params: 'u32' | 'i32' | 'f32' }
  /** Read-write storage of `size` zero bytes, written to /out/`output` when the passes end. */
  | { readonly name: string, readonly binding: number, readonly output: string, readonly size: number }
  /** Read-write storage of `size` zero bytes that the task keeps to itself. */
  | { readonly name: string, readonly binding: number, readonly size: number }

/** One object with the kind's keys, rather than a union of shapes, so that a mistake gets a precise message. */
const buffer = z.strictObject({
  name,
  binding,
  input: z.string().min(1).max(1024).optional(),
  params: z.enum(['u32', 'i32', 'f32']).optional(),
  output: outName.optional(),
  size: size.optional(),
}).superRefine((b, ctx) => {
  const kinds = [b.input !== undefined, b.params !== undefined, b.size !== undefined].filter(Boolean).length
  if (kinds !== 1) ctx.addIssue({ code: 'custom', message: `buffer ${b.name} needs exactly one of "input" (a file in /in), "params" (u32, i32 or f32) or "size" (bytes, with "output" to write it to /out)` })
  else if (b.output !== undefined && b.size === undefined) ctx.addIssue({ code: 'custom', path: ['size'], message: `output buffer ${b.name} needs its "size" in bytes` })
}).transform(b => b as GpuBuffer)

const pass = z.strictObject({
  /** The `@compute` function to run. */
  entry: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'entry points are WGSL identifiers'),
  /** Workgroups in x, y, z (missing ones are 1). */
  dispatch: z.array(count).min(1).max(3),
})

export const gpuPlan = z.strictObject({
  buffers: z.array(buffer).min(1).max(MAX_BUFFERS),
  passes: z.array(pass).min(1).max(MAX_PASSES),
}).superRefine((plan, ctx) => {
  const seen = (key: (b: GpuBuffer) => unknown, what: string) => {
    const values = plan.buffers.map(key).filter(value => value !== undefined)
    for (const [index, value] of values.entries()) {
      if (values.indexOf(value) !== index) ctx.addIssue({ code: 'custom', path: ['buffers'], message: `two buffers have the same ${what} ${JSON.stringify(value)}` })
    }
  }
  seen(b => b.name, 'name')
  seen(b => b.binding, 'binding')
  seen(b => 'output' in b ? b.output : undefined, 'output')
  if (plan.buffers.filter(b => 'params' in b).length > 1) ctx.addIssue({ code: 'custom', path: ['buffers'], message: 'at most one params buffer' })
})
export type GpuPlan = z.infer<typeof gpuPlan>

/** A plan's workgroup counts with "{i}" resolved, as the device dispatches them. */
export function dispatchOf (counts: GpuPlan['passes'][number]['dispatch']): [number, number, number] {
  const [x = 1, y = 1, z = 1] = counts.map(value => typeof value === 'number' ? value : Number(value))
  return [x, y, z]
}

/** The task's first argument as a plan, or a list of what is wrong with it. */
export function parseGpuPlan (json: string): { ok: true, plan: GpuPlan } | { ok: false, problems: string[] } {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (err) {
    return { ok: false, problems: [`the plan is not JSON: ${(err as Error).message}`] }
  }
  const parsed = gpuPlan.safeParse(value)
  if (parsed.success) return { ok: true, plan: parsed.data }
  return { ok: false, problems: parsed.error.issues.map(issue => `${issue.path.join('.') || '(plan)'}: ${issue.message}`) }
}

/** The params buffer's bytes: each argument as a 4-byte little-endian value, padded to 16 bytes (uniform alignment). */
export function paramsBytes (type: 'u32' | 'i32' | 'f32', args: readonly string[]): Uint8Array | string {
  if (args.length > MAX_PARAMS) return `at most ${MAX_PARAMS} params, got ${args.length}`
  const bytes = new Uint8Array(Math.max(16, Math.ceil(args.length * 4 / 16) * 16))
  const view = new DataView(bytes.buffer)
  for (const [index, arg] of args.entries()) {
    const value = Number(arg)
    if (arg.trim() === '' || !Number.isFinite(value)) return `param ${index} (${JSON.stringify(arg)}) is not a number`
    if (type === 'f32') view.setFloat32(index * 4, value, true)
    else if (!Number.isInteger(value)) return `param ${index} (${arg}) is not a whole number`
    else if (type === 'u32' && (value < 0 || value > 0xffffffff)) return `param ${index} (${arg}) is not a u32`
    else if (type === 'i32' && (value < -(2 ** 31) || value >= 2 ** 31)) return `param ${index} (${arg}) is not an i32`
    else if (type === 'u32') view.setUint32(index * 4, value, true)
    else view.setInt32(index * 4, value, true)
  }
  return bytes
}
