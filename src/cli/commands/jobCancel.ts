import { connect } from '../connect.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun job cancel <job-id> [options]

Cancels a running job: queued tasks are dropped and running ones are stopped on their providers.

Options:
${CLIENT_OPTIONS_HELP}`

export const jobCancel: Command = {
  name: 'job cancel',
  summary: 'cancel a running job',
  help,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, CLIENT_OPTIONS, help, { min: 1, max: 1 })
    const status = await (await connect(values)).cancel(positionals[0]!)
    console.log(`job ${status.job.id}: ${status.job.state}`)
    return 0
  },
}
