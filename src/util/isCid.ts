import { CID } from 'multiformats/cid'

/** Whether a job spec's source is a content address (and not a local path). */
export function isCid (value: string): boolean {
  try {
    CID.parse(value)
    return true
  } catch {
    return false
  }
}
