import { z } from 'zod'
import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'

const hex = (most: number) => z.string().regex(/^0x[0-9a-fA-F]*$/, 'a 0x-prefixed hex string').max(most)
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address')
const blockTag = z.union([z.enum(['latest', 'safe', 'finalized']), hex(18)])
const id = z.union([z.number().int(), z.string().max(64), z.null()])

/**
 * The JSON-RPC calls a tab needs to check what it is owed: the chain's id, its head, and reads
 * (`eth_call`) of conun's two contracts only (a requester's payment line and balance in the
 * escrow, the payout address's CON). Nothing that sends, signs, reads logs, installs filters or
 * reads other contracts passes, so the provide link cannot turn this node's RPC endpoint into an
 * open proxy.
 */
const rpcCall = z.discriminatedUnion('method', [
  z.object({ jsonrpc: z.literal('2.0'), id, method: z.literal('eth_chainId'), params: z.tuple([]).optional() }),
  z.object({ jsonrpc: z.literal('2.0'), id, method: z.literal('eth_blockNumber'), params: z.tuple([]).optional() }),
  z.object({
    jsonrpc: z.literal('2.0'),
    id,
    method: z.literal('eth_call'),
    params: z.union([
      z.tuple([z.object({ to: address, data: hex(8_192) }).strict()]),
      z.tuple([z.object({ to: address, data: hex(8_192) }).strict(), blockTag]),
    ]),
  }),
])

/** A JSON-RPC request body is small; 16 KiB leaves room for any read of the two contracts. */
const BODY_LIMIT = 16 * 1024

/**
 * A read-only window on the node's chain for browser providers: through it a tab reads the escrow
 * and its payout address's balance without a chain client or an RPC URL of its own. It takes the
 * provide link's token, like the rest of what a tab needs.
 */
export function provideChainRoutes (app: FastifyInstance, node: ApiDeps): void {
  const contracts = new Set([node.ledger.info.token, node.ledger.info.escrow].map(contract => contract.toLowerCase()))
  app.post('/provide/chain', { config: { access: 'provide' }, bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const call = rpcCall.parse(request.body)
    if (call.method === 'eth_call' && !contracts.has(call.params[0].to.toLowerCase())) {
      return reply.code(403).send({ jsonrpc: '2.0', id: call.id, error: { code: -32_000, message: 'only conun\'s token and escrow can be read through this node' } })
    }
    try {
      const result = await node.ledger.public.request({ method: call.method, params: call.params ?? [] } as never)
      return { jsonrpc: '2.0', id: call.id, result }
    } catch (error) {
      // The chain's answer (a revert, an unreachable RPC) goes back as a JSON-RPC error, as a node would give it.
      return reply.code(502).send({ jsonrpc: '2.0', id: call.id, error: { code: -32_000, message: (error as Error).message.split('\n')[0] } })
    }
  })
}
