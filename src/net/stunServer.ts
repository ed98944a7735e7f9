import { createSocket } from 'node:dgram'
import { isIPv4 } from 'node:net'
import type { Socket } from 'node:dgram'

/**
 * A STUN binding responder (RFC 5389 §7.3 and §15.2): it tells whoever asks the address and port
 * their packet came from. Nodes behind NATs learn their public UDP mapping from it, which WebRTC's
 * ICE needs for hole punching; public conun nodes answer on the UDP port of the same number as
 * their TCP listener, so a node's bootstrap and relay addresses double as STUN servers. Nothing
 * here traverses a NAT: ICE (libdatachannel, through @libp2p/webrtc) does that.
 */
export interface StunServer {
  readonly port: number
  close(): Promise<void>
}

const MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
const HEADER_BYTES = 20
/** A binding request carries a few attributes at most; anything longer is not one. */
const MAX_REQUEST_BYTES = 548

/** The answer to `request` from `address:port`, or undefined when `request` is not a binding request. */
export function bindingResponse (request: Uint8Array, address: string, port: number): Buffer | undefined {
  const message = Buffer.from(request.buffer, request.byteOffset, request.byteLength)
  if (message.length < HEADER_BYTES || message.length > MAX_REQUEST_BYTES) return undefined
  // The top two bits are zero in every STUN message; the length covers whole 4-byte attributes.
  if ((message[0]! & 0xc0) !== 0 || message.readUInt16BE(0) !== BINDING_REQUEST) return undefined
  if (message.readUInt32BE(4) !== MAGIC_COOKIE || message.readUInt16BE(2) !== message.length - HEADER_BYTES || message.length % 4 !== 0) return undefined
  const transactionId = message.subarray(8, HEADER_BYTES)
  const ip = ipBytes(address)
  if (ip === undefined) return undefined
  const value = Buffer.alloc(4 + ip.length)
  value[1] = ip.length === 4 ? 0x01 : 0x02
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2)
  // The address is XORed with the magic cookie, and for IPv6 with the transaction id after it.
  const mask = Buffer.concat([message.subarray(4, 8), transactionId])
  for (let i = 0; i < ip.length; i++) value[4 + i] = ip[i]! ^ mask[i]!
  const response = Buffer.alloc(HEADER_BYTES + 4 + value.length)
  response.writeUInt16BE(BINDING_SUCCESS, 0)
  response.writeUInt16BE(4 + value.length, 2)
  response.writeUInt32BE(MAGIC_COOKIE, 4)
  transactionId.copy(response, 8)
  response.writeUInt16BE(XOR_MAPPED_ADDRESS, HEADER_BYTES)
  response.writeUInt16BE(value.length, HEADER_BYTES + 2)
  value.copy(response, HEADER_BYTES + 4)
  return response
}

function ipBytes (address: string): Buffer | undefined {
  const mapped = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
  if (isIPv4(mapped)) return Buffer.from(mapped.split('.').map(Number))
  const halves = mapped.split('::')
  if (halves.length > 2) return undefined
  const groups = (part: string | undefined) => part === undefined || part === '' ? [] : part.split(':')
  const head = groups(halves[0])
  const tail = groups(halves[1])
  const words = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head
  if (words.length !== 8 || words.some(word => !/^[0-9a-fA-F]{1,4}$/.test(word))) return undefined
  const bytes = Buffer.alloc(16)
  words.forEach((word, i) => bytes.writeUInt16BE(parseInt(word, 16), i * 2))
  return bytes
}

/** Answers STUN binding requests on `host:port` (UDP) until closed. */
export async function startStunServer (host: string, port: number): Promise<StunServer> {
  const socket: Socket = createSocket({ type: isIPv4(host) ? 'udp4' : 'udp6', reuseAddr: true })
  socket.on('message', (request, from) => {
    const response = bindingResponse(request, from.address, from.port)
    if (response !== undefined) socket.send(response, from.port, from.address)
  })
  // A stray send failure (an unreachable asker) must not take the node down.
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return {
    port: socket.address().port,
    close: async () => new Promise<void>(resolve => socket.close(() => resolve())),
  }
}
