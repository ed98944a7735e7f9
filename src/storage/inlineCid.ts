import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'

/**
 * The CID of small content sent inline: CIDv1, raw codec, sha-256 — what IPFS gives a one-block
 * file. Synchronous and the same in browsers (the browser provider names its outputs with it).
 */
export function inlineCid (bytes: Uint8Array): string {
  return CID.createV1(raw.code, createDigest(sha256Hasher.code, sha256(bytes))).toString()
}

/** The output reference of empty content (stdout of a task that printed nothing, or never ran). */
export const EMPTY_OUTPUT = { cid: inlineCid(new Uint8Array(0)), size: 0, inline: '' }
