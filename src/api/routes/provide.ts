import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'
import type { ProvideSummary } from '../../sdk/index.ts'

/** A WebSocket listen address (/ws or /wss), the only kind a browser can dial. */
const WEBSOCKET_ADDR = /\/wss?(\/|$)/

/**
 * What the provide link is for: a browser tab joins the grid as a provider by dialling this node's
 * WebSocket address. The provide link's token reaches this and nothing else, so whoever holds the
 * link can lend a tab but cannot see jobs, submit them or spend the node's funds.
 */
export function provideRoutes (app: FastifyInstance, node: ApiDeps, provideToken: string): void {
  app.get('/provide', { config: { access: 'provide' } }, async (): Promise<ProvideSummary> => ({
    peerId: node.key.peerId.toString(),
    chainId: node.chainId,
    // The contracts a tab reads through POST /v1/provide/chain to see what it is owed and paid, from
    // the escrow's deployment block on, as deep in the chain as this node counts a state settled.
    chain: { token: node.ledger.info.token, escrow: node.ledger.info.escrow, deploymentBlock: String(node.ledger.info.deploymentBlock), deployment: node.escrowDeployment, confirmations: node.ledger.confirmations },
    multiaddrs: node.host.getMultiaddrs().map(addr => addr.toString()).filter(addr => WEBSOCKET_ADDR.test(addr)),
  }))

  /** The provide link's token, for the dashboard to build the link with (API token only). */
  app.get('/provide/token', async () => ({ token: provideToken }))
}
