/**
 * How `compare.tolerance` groups a task's replicas: each replica is seen as its exact outcome, its
 * shape (the outcome with the toleranced files counted by size) and those files' bytes; a replica
 * joins the first earlier group whose first replica has its shape and toleranced files within bounds.
 */
import { withinTolerance } from './floatTolerance.ts'
import { outcomeHash, outcomeShape } from './outcome.ts'
import type { Outcome, OutputComparison } from './outcome.ts'
import type { ReturnedOutput, ReturnedReplica, StoredOutput } from './replica.ts'

export interface ToleranceView {
  /** The replica's exact outcome hash: what it counts as when it agrees with no earlier group. */
  readonly own: string
  readonly shape: string
  /** The toleranced files' bytes, by path. */
  readonly files: ReadonlyMap<string, Uint8Array>
}

/** A replica's view; `read` gives the bytes of a file that did not come inline. */
export async function toleranceView (outcome: Outcome, outputs: readonly ReturnedOutput[], compare: OutputComparison, read: (output: StoredOutput) => Promise<Uint8Array>): Promise<ToleranceView> {
  const files = new Map<string, Uint8Array>()
  for (const output of outputs) {
    if (output.kind !== 'file' || compare.tolerance?.[output.path] === undefined) continue
    files.set(output.path, output.inline ?? await read(output))
  }
  return { own: outcomeHash(outcome, compare), shape: outcomeShape(outcome, compare), files }
}

/**
 * The outcome hash a replica counts as: that of the first earlier replica that stands for its own
 * group (its hash is its own) with the same shape and every toleranced file within bounds;
 * otherwise its own. Comparing with each group's first replica only keeps a chain of small
 * differences from drifting into one group.
 */
export function toleranceMatch (view: ToleranceView, earlier: ReadonlyArray<{ readonly outcomeHash: string, readonly view: ToleranceView | undefined }>, compare: OutputComparison): string {
  for (const { outcomeHash: hash, view: other } of earlier) {
    if (other === undefined || hash !== other.own || other.shape !== view.shape) continue
    const agrees = [...view.files].every(([path, bytes]) => {
      const theirs = other.files.get(path)
      const bounds = compare.tolerance?.[path]
      return theirs !== undefined && bounds !== undefined && withinTolerance(bytes, theirs, bounds)
    })
    if (agrees) return hash
  }
  return view.own
}

/** A replica that exited, as its outcome, read back from the job store (after a restart). */
export function storedOutcome (replica: ReturnedReplica, outputs: readonly ReturnedOutput[]): Outcome {
  const stdout = outputs.find(output => output.kind === 'stdout')
  return {
    status: 'exit',
    exitCode: replica.exitCode ?? undefined,
    stdout: { cid: stdout?.cid ?? '', ...(stdout?.inline === undefined ? {} : { inline: Buffer.from(stdout.inline).toString('base64') }) },
    files: outputs.filter(output => output.kind === 'file').map(({ path, cid, size }) => ({ path, cid, size })),
  }
}
