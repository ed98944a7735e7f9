import { connect } from '../connect.ts'
import { formatBytes } from '../../util/index.ts'
import { table } from '../format.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun peers [options]

Lists the peers the node is connected to, has offers from, or has given work to, with their
track record on this node's jobs (valid, invalid, timed-out and failed attempts, current streak)
and whether they are blacklisted.

Options:
  --json            print JSON
${CLIENT_OPTIONS_HELP}`

export const peers: Command = {
  name: 'peers',
  summary: 'list known peers and their offers',
  help,
  async run (argv) {
    const { values } = parseFlags(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, help, { min: 0, max: 0 })
    const list = await (await connect(values)).peers()
    if (values.json === true) {
      console.log(JSON.stringify(list))
      return 0
    }
    if (list.length === 0) {
      console.log('no peers yet')
      return 0
    }
    const now = Date.now()
    console.log(table(['PEER', 'CONNECTED', 'OFFER', 'CORES', 'MEMORY', 'PRICE/TASK (wei)', 'VALID', 'INVALID', 'TIMEOUTS', 'ERRORS', 'STREAK', 'STATUS'], list.map(peer => {
      const { offer, reputation } = peer
      const blacklisted = reputation?.blacklistedUntil !== null && reputation?.blacklistedUntil !== undefined && reputation.blacklistedUntil > now
      return [
        peer.peerId,
        peer.connected ? [...new Set(peer.connections.map(connection => connection.path))].join('+') : 'no',
        offer === null ? '-' : offer.runtimes.join(','),
        offer === null ? '-' : String(offer.cores),
        offer === null ? '-' : formatBytes(offer.memoryBytes),
        offer === null ? '-' : offer.pricePerTaskWei,
        ...(reputation === null ? ['-', '-', '-', '-', '-'] : [reputation.valid, reputation.invalid, reputation.timeouts, reputation.errors, reputation.streak].map(String)),
        blacklisted ? `blacklisted until ${new Date(reputation!.blacklistedUntil!).toISOString()}` : 'ok',
      ]
    })))
    return 0
  },
}
