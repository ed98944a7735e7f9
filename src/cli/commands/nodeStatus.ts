import { connect } from '../connect.ts'
import { reachabilityLines } from '../reachability.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun node status [options]

Shows the running node: identity, addresses, running jobs and, when it provides, its tasks.

Options:
  --json            print JSON
${CLIENT_OPTIONS_HELP}`

export const nodeStatus: Command = {
  name: 'node status',
  summary: 'show the running node',
  help,
  async run (argv) {
    const { values } = parseFlags(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, help, { min: 0, max: 0 })
    const node = await (await connect(values)).node()
    if (values.json === true) {
      console.log(JSON.stringify(node))
      return 0
    }
    console.log(`node      ${node.peerId}`)
    console.log(`address   ${node.address} (chain ${node.chainId})`)
    const { chain } = node
    console.log(chain.reachable
      ? `chain     reachable, head ${chain.head ?? '?'}`
      : `chain     UNREACHABLE since ${new Date(chain.unreachableSince ?? Date.now()).toLocaleTimeString()} (${chain.error}): tasks keep running; payments retry and settle when it is back`)
    for (const addr of node.multiaddrs) console.log(`listening ${addr}`)
    for (const line of reachabilityLines(node.reachability)) console.log(line)
    console.log(`jobs      ${node.runningJobs} running`)
    const provider = node.provider
    if (provider === null) console.log('provider  off (start with --provide to lend this machine)')
    else {
      console.log(`provider  ${provider.runtimes.join(', ')} · ${provider.running}/${provider.maxConcurrent} running · ${provider.queued} queued · ${provider.sessions} sessions`)
      console.log(`          ${provider.completed} completed · ${provider.failed} failed · ${(provider.busyMs / 1000).toFixed(1)} s of sandbox time`)
      const { lending } = provider
      console.log(`lending   ${lending.state} since ${new Date(lending.since).toLocaleTimeString()}: ${lending.reason} · CPU: conun ${Math.round(lending.ownLoad * 100)} %, others ${Math.round(lending.foreignLoad * 100)} %`)
    }
    return 0
  },
}
