import { INLINE_OUTPUT_MAX_BYTES } from '../net/index.ts'
import { inlineCid } from '../storage/index.ts'
import type { OutputRef } from '../net/index.ts'
import type { Storage } from '../storage/index.ts'

/** Small outputs ride inside the result; larger ones are stored and fetched by the requester by CID. */
export async function publishOutput (storage: Storage, bytes: Uint8Array): Promise<OutputRef> {
  if (bytes.byteLength <= INLINE_OUTPUT_MAX_BYTES) {
    return { cid: inlineCid(bytes), size: bytes.byteLength, inline: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }
  }
  return storage.putBytes(bytes)
}
