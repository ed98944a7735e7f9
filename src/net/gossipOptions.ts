import type { GossipsubOpts } from '@libp2p/gossipsub'

/**
 * Gossipsub as every conun host runs it (nodes and browser tabs).
 *
 * IP colocation scoring is off. Gossipsub scores each peer −5 × (n − 10)² where n peers share its IP
 * address, so from 15 of them on every one is below the graylist threshold (−80) and everything it
 * sends is ignored. Honest providers often share one public address (an office or a lab behind one
 * NAT, the tabs of one network, hosts on loopback): a requester with 20 such providers heard none of
 * their offers, and none of its own reached them. Offers are signed and verified, and offer books are
 * bounded, so this Sybil defence buys conun nothing.
 *
 * Messages are not signed by gossipsub (StrictNoSign; a message's id is the hash of its bytes). The
 * one topic carries offers, each signed by its provider and checked by every node that receives it,
 * so gossipsub's own signature (and its check at every hop) was a second one over the same message.
 * With 300 providers on two cores, that check took 30 s of a host process's 100 s of CPU, and the
 * offer's own 12 s.
 *
 * A message with no subscribed peer to go to is refused, not published (allowPublishToZeroTopicPeers
 * false). Gossipsub remembers every message it publishes and refuses the same bytes again as a
 * duplicate; with content-hash ids, an offer first published before any peer had subscribed was
 * remembered though it reached nobody, and never went out after. A refused one is tried again.
 */
export const GOSSIP_OPTIONS: Partial<GossipsubOpts> = {
  globalSignaturePolicy: 'StrictNoSign',
  allowPublishToZeroTopicPeers: false,
  emitSelf: false,
  scoreParams: { IPColocationFactorWeight: 0 },
}
