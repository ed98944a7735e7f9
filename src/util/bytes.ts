/**
 * Byte helpers that run in Node and in browsers alike (the browser provider shares the provider's
 * code): Node's Buffer where it exists, because it is faster, plain Web APIs elsewhere.
 */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer

export function toBase64 (bytes: Uint8Array): string {
  if (NodeBuffer !== undefined) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

export function fromBase64 (text: string): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, 'base64')
  return Uint8Array.from(atob(text), char => char.charCodeAt(0))
}

export function concatBytes (parts: readonly Uint8Array[]): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.concat(parts)
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0))
  let at = 0
  for (const part of parts) {
    joined.set(part, at)
    at += part.byteLength
  }
  return joined
}

/** The bytes of any typed array or Buffer, as a plain Uint8Array over the same memory (no copy). */
export function bytesView (view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}
