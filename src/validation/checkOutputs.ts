import { inlineCid } from '../storage/index.ts'
import type { ReturnedOutput } from './replica.ts'
import type { TaskResult } from '../net/index.ts'

/** A result made invalid by what the requester found wrong with its outputs. */
export function invalidOutput (result: TaskResult, message: string): TaskResult {
  return { ...result, status: 'failed', exitCode: undefined, reason: 'invalid-output', message }
}

/**
 * The outputs a result claims, checked before anything of them is fetched: together within the
 * job's `outputBytes`, and each inline one matching its CID; otherwise the result is invalid.
 */
export function checkOutputs (result: TaskResult, outputBytes: number): { outputs: ReturnedOutput[] } | { invalid: TaskResult } {
  const outputs: ReturnedOutput[] = []
  const refs = [
    { kind: 'stdout' as const, path: '', ref: result.stdout },
    { kind: 'stderr' as const, path: '', ref: result.stderr },
    ...result.files.map(file => ({ kind: 'file' as const, path: file.path, ref: file })),
  ]
  const claimed = refs.reduce((sum, { ref }) => sum + ref.size, 0)
  if (claimed > outputBytes) return { invalid: invalidOutput(result, `the provider claims ${claimed} bytes of outputs, over the job's limit of ${outputBytes}`) }
  for (const { kind, path, ref } of refs) {
    let inline: Uint8Array | undefined
    if (ref.inline !== undefined) {
      inline = Buffer.from(ref.inline, 'base64')
      if (inline.byteLength !== ref.size || inlineCid(inline) !== ref.cid) return { invalid: invalidOutput(result, `the provider's ${kind} ${path} does not match its CID`) }
    }
    outputs.push({ kind, path, cid: ref.cid, size: ref.size, ...(inline === undefined ? {} : { inline }) })
  }
  return { outputs }
}
