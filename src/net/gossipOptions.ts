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
 */
export const GOSSIP_OPTIONS: Partial<GossipsubOpts> = {
  allowPublishToZeroTopicPeers: true,
  emitSelf: false,
  scoreParams: { IPColocationFactorWeight: 0 },
}
