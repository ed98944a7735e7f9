import { formatCon } from '../../ledger/index.ts'
import { connect } from '../connect.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun wallet release [options]

Takes back CON that the running node's payment lines to providers hold reserved and unpaid (pay
reserved ahead for a provider that then did less), for every provider no running job pays. The
escrow gives each provider a day's notice to claim with its receipts: the first call announces the
releases, a call after the notice does them, and the CON is free in the escrow again (see conun
wallet withdraw). Providers the node works with again reuse what their line holds instead.

Options:
  --json            print JSON
${CLIENT_OPTIONS_HELP}`

export const walletRelease: Command = {
  name: 'wallet release',
  summary: 'take back CON that payment lines to providers hold unused',
  help,
  async run (argv) {
    const { values } = parseFlags(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, help, { min: 0, max: 0 })
    const { lines } = await (await connect(values)).releaseLines()
    if (values.json === true) {
      console.log(JSON.stringify({ lines }))
      return 0
    }
    if (lines.length === 0) console.log('no payment line holds anything')
    for (const line of lines) {
      const at = line.releaseAt === null ? '' : ` (notice over at ${new Date(line.releaseAt * 1000).toISOString()})`
      console.log(`${line.provider}  ${formatCon(BigInt(line.heldWei))}  ${line.state}${at}`)
    }
    return 0
  },
}
