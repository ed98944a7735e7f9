import { connect } from '../connect.ts'
import { formatBytes, table } from '../format.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun peers [options]

Lists the peers the node is connected to or has offers from.

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
    console.log(table(['PEER', 'CONNECTED', 'OFFER', 'CORES', 'MEMORY', 'PRICE/TASK (wei)'], list.map(peer => [
      peer.peerId,
      peer.connected ? 'yes' : 'no',
      peer.offer === null ? '-' : peer.offer.runtimes.join(','),
      peer.offer === null ? '-' : String(peer.offer.cores),
      peer.offer === null ? '-' : formatBytes(peer.offer.memoryBytes),
      peer.offer === null ? '-' : peer.offer.pricePerTaskWei,
    ])))
    return 0
  },
}
