import { connect } from '../connect.ts'
import { shortId } from '../../util/index.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import { formatCon } from '../../ledger/index.ts'
import type { JobStatus, PaymentStatus } from '../../requester/index.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun job status <job-id> [options]

Shows a job's state, its task counts, the providers working on it and, for a paid job, what its\nescrow holds, owes and has paid.

Options:
  --json            print JSON
${CLIENT_OPTIONS_HELP}`

export function printStatus (status: JobStatus & { payment?: PaymentStatus | null }): void {
  const { job, counts } = status
  const elapsed = ((job.finishedAt ?? Date.now()) - job.createdAt) / 1000
  console.log(`job ${job.id} (${job.spec.name}): ${job.state}`)
  console.log(`  tasks     ${counts.done} done · ${counts.running} running · ${counts.queued} queued · ${counts.failed} failed${counts.cancelled > 0 ? ` · ${counts.cancelled} cancelled` : ''} (of ${job.taskCount})`)
  console.log(`  time      ${elapsed.toFixed(2)} s${job.finishedAt === null ? ' so far' : ''}`)
  const { payment } = status
  if (payment === undefined || payment === null) console.log('  payment   none (free job)')
  else {
    console.log(`  payment   ${payment.state}: ${formatCon(BigInt(payment.escrowWei))} budget · ${formatCon(BigInt(payment.owedWei))} owed · ${formatCon(BigInt(payment.paidWei))} paid by the settlement`)
    console.log(`            ${payment.txCount} transactions, ${payment.gasUsed} gas (settled as job ${payment.jobKey.slice(0, 10)}… in the escrow)${payment.error === undefined ? '' : ` · last error: ${payment.error}`}`)
  }
  for (const provider of status.providers) console.log(`  provider  ${shortId(provider.peerId)} ${provider.inFlight}/${provider.maxInFlight} in flight`)
  if (job.state === 'running' && status.providers.length === 0) console.log('  provider  none yet: waiting for an offer that meets the job\'s constraints (see conun peers)')
}

export const jobStatus: Command = {
  name: 'job status',
  summary: 'show a job\'s state and progress',
  help,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, help, { min: 1, max: 1 })
    const status = await (await connect(values)).job(positionals[0]!)
    if (values.json === true) console.log(JSON.stringify(status))
    else printStatus(status)
    return 0
  },
}
