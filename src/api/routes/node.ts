import { z } from 'zod'
import { readBalances, readEscrowBalance } from '../../ledger/index.ts'
import { pathOf } from '../../net/index.ts'
import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'
import type { EvidenceSummary, LineReleaseSummary, NodeSummary, PeerSummary, WalletSummary } from '../../sdk/index.ts'

/** This node and the peers it knows. */
export function nodeRoutes (app: FastifyInstance, node: ApiDeps): void {
  app.get('/node', async (): Promise<NodeSummary> => ({
    peerId: node.key.peerId.toString(),
    address: node.key.address,
    chainId: node.chainId,
    chain: node.chainHealth(),
    multiaddrs: node.host.getMultiaddrs().map(addr => addr.toString()),
    reachability: node.reachability(),
    provider: node.provider?.status() ?? null,
    runningJobs: node.requester.jobs().filter(status => status.job.state === 'running').length,
  }))

  /** This node's account on the chain: balances (its standing balance in the escrow too), and as a provider the receipts it holds. */
  app.get('/wallet', async (): Promise<WalletSummary> => {
    const [balances, escrowFree] = await Promise.all([readBalances(node.ledger, node.key.address), readEscrowBalance(node.ledger, node.key.address)])
    return {
      address: node.key.address,
      chainId: node.ledger.info.chainId,
      token: node.ledger.info.token,
      escrow: node.ledger.info.escrow,
      conWei: String(balances.con),
      ethWei: String(balances.eth),
      escrowFreeWei: String(escrowFree),
      receipts: (node.payments?.receipts() ?? []).map(receipt => ({ ...receipt, cumulativeWei: String(receipt.cumulativeWei), paidWei: String(receipt.paidWei) })),
    }
  })

  /** Takes back what the node's payment lines to providers no running job pays hold: announced now, done after the notice. */
  app.post('/wallet/release', async (): Promise<LineReleaseSummary> => ({ lines: await node.requester.releaseLines() }))

  /** Results a provider signed that were judged wrong, with the signed batches as proof. */
  app.get('/peers/:peerId/evidence', async (request): Promise<{ peerId: string, evidence: EvidenceSummary[] }> => {
    const { peerId } = z.object({ peerId: z.string().regex(/^[A-Za-z0-9]{8,128}$/, 'a PeerId') }).parse(request.params)
    return { peerId, evidence: node.requester.evidence(peerId) }
  })

  app.get('/peers', async (): Promise<{ peers: PeerSummary[] }> => {
    const offers = new Map(node.offers.list().map(offer => [offer.body.peerId, offer.body]))
    const connected = node.host.getConnections().reduce((peers, connection) => {
      const peerId = connection.remotePeer.toString()
      peers.set(peerId, [...(peers.get(peerId) ?? []), { addr: connection.remoteAddr.toString(), path: pathOf(connection) }])
      return peers
    }, new Map<string, Array<{ addr: string, path: ReturnType<typeof pathOf> }>>())
    const reputation = new Map(node.requester.reputation().map(entry => [entry.peerId, entry]))
    const peerIds = new Set([...connected.keys(), ...offers.keys(), ...reputation.keys()])
    return {
      peers: [...peerIds].sort().map(peerId => ({
        peerId,
        connected: connected.has(peerId),
        connections: connected.get(peerId) ?? [],
        addrs: connected.get(peerId)?.map(connection => connection.addr) ?? offers.get(peerId)?.addrs ?? [],
        offer: offers.get(peerId) ?? null,
        reputation: reputation.get(peerId) ?? null,
      })),
    }
  })
}
