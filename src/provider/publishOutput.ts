import { INLINE_OUTPUT_MAX_BYTES } from '../net/index.ts'
import { inlineCid } from '../storage/index.ts'
import { toBase64 } from '../util/index.ts'
import type { OutputRef } from '../net/index.ts'
import type { TaskStorage } from './providerContext.ts'

/** Small outputs ride inside the result; larger ones are stored and fetched by the requester by CID. */
export async function publishOutput (storage: TaskStorage, bytes: Uint8Array): Promise<OutputRef> {
  if (bytes.byteLength <= INLINE_OUTPUT_MAX_BYTES) {
    return { cid: inlineCid(bytes), size: bytes.byteLength, inline: toBase64(bytes) }
  }
  return storage.putBytes(bytes)
}
