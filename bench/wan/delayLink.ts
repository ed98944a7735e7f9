/**
 * A TCP link with the manners of a long one, for the WAN benchmark (this machine has no netem):
 * it forwards connections from `listen` to `target`, holding every chunk for a one-way delay in
 * each direction, in order, at most `bytesPerSecond`, and with a `lossRate` of chunks held one
 * retransmission timeout more (what a lost segment costs a TCP connection).
 *
 * Run inside a network namespace beside the node it fronts:
 *   node bench/wan/delayLink.ts LISTEN_IP:PORT TARGET_IP:PORT
 * then, on stdin: `delay MS` (one way), `rate BYTES_PER_SECOND` (0: unlimited), `loss FRACTION`.
 * It prints `ready` once listening and `ok` after each command.
 */
import { createConnection, createServer } from 'node:net'
import { createInterface } from 'node:readline'
import type { Server, Socket } from 'node:net'

export interface LinkShape {
  readonly oneWayDelayMs: number
  readonly bytesPerSecond: number
  readonly lossRate: number
}

/** Above this many bytes held in one direction, the sender is paused (TCP backpressure, end to end). */
const HIGH_WATER_BYTES = 4 * 1024 * 1024
const MIN_RETRANSMISSION_MS = 200

/** Moves `from`'s bytes to `to` as the shape says. */
function shapedPipe (from: Socket, to: Socket, shape: () => LinkShape): void {
  let lastDueAt = 0
  let wireFreeAt = 0
  let held = 0
  from.on('data', (chunk: Buffer) => {
    const { oneWayDelayMs, bytesPerSecond, lossRate } = shape()
    const now = performance.now()
    if (bytesPerSecond > 0) wireFreeAt = Math.max(wireFreeAt, now) + (chunk.length * 1000) / bytesPerSecond
    let dueAt = Math.max(now, wireFreeAt) + oneWayDelayMs
    if (lossRate > 0 && Math.random() < lossRate) dueAt += Math.max(MIN_RETRANSMISSION_MS, 4 * oneWayDelayMs)
    // A later chunk never overtakes an earlier one: it is one byte stream.
    lastDueAt = Math.max(lastDueAt, dueAt)
    held += chunk.length
    if (held > HIGH_WATER_BYTES) from.pause()
    setTimeout(() => {
      held -= chunk.length
      if (!to.destroyed) to.write(chunk)
      if (held <= HIGH_WATER_BYTES / 2 && from.isPaused()) from.resume()
    }, lastDueAt - now)
  })
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDueAt - performance.now())))
  from.on('error', () => to.destroy())
}

export async function startDelayLink (listen: { host: string, port: number }, target: { host: string, port: number }, initial: LinkShape): Promise<{ server: Server, setShape(shape: Partial<LinkShape>): void }> {
  let current = initial
  const server = createServer(client => {
    const upstream = createConnection(target)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    shapedPipe(client, upstream, () => current)
    shapedPipe(upstream, client, () => current)
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => resolve())
  })
  return { server, setShape: shape => { current = { ...current, ...shape } } }
}

function endpoint (text: string | undefined): { host: string, port: number } {
  const match = /^(.+):(\d+)$/.exec(text ?? '')
  if (match === null) throw new Error(`expected HOST:PORT, got ${text}`)
  return { host: match[1]!, port: Number(match[2]) }
}

if (import.meta.main) {
  const link = await startDelayLink(endpoint(process.argv[2]), endpoint(process.argv[3]), { oneWayDelayMs: 0, bytesPerSecond: 0, lossRate: 0 })
  console.log('ready')
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, value] = line.trim().split(/\s+/)
    const number = Number(value)
    if (command === 'delay') link.setShape({ oneWayDelayMs: number })
    else if (command === 'rate') link.setShape({ bytesPerSecond: number })
    else if (command === 'loss') link.setShape({ lossRate: number })
    else {
      console.log(`unknown command ${line}`)
      continue
    }
    console.log('ok')
  }
  link.server.close()
}
