import type { Readable } from 'node:stream'

/** The whole of an HTTP answer's body as text, refusing (and destroying the stream) past `maxBytes`. */
export async function readBody (body: Readable, maxBytes: number, what = 'the response'): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) {
      body.destroy()
      throw new Error(`${what} is larger than ${maxBytes} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
