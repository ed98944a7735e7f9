import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { connect } from '../connect.ts'
import { Progress } from '../progress.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags, UsageError } from '../usage.ts'
import { printStatus } from './jobStatus.ts'
import type { ConunClient } from '../../sdk/index.ts'
import type { JobStatus } from '../../requester/index.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun job run <job.json> [options]

Submits a job: uploads its module and inputs (paths are relative to the spec file) to the node,
which finds providers and runs the tasks. The spec format is in README.md.

Options:
  --watch           follow the job until it ends, with progress; exit 1 if any task failed
  --json            print the job's status as JSON (after it ends, with --watch)
${CLIENT_OPTIONS_HELP}`

export const jobRun: Command = {
  name: 'job run',
  summary: 'submit a job spec (and --watch it)',
  help,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_OPTIONS, watch: { type: 'boolean' }, json: { type: 'boolean' } }, help, { min: 1, max: 1 })
    if (values.help === true) {
      console.log(help)
      return 0
    }
    const path = resolve(positionals[0]!)
    let spec: unknown
    try {
      spec = JSON.parse(await readFile(path, 'utf8'))
    } catch (error) {
      throw new UsageError(`cannot read the job spec ${path}: ${(error as Error).message}`, help)
    }
    const client = await connect(values)
    const startedAt = Date.now()
    let stopEvents = () => {}
    const perProvider = new Map<string, number>()
    let done = 0
    let failed = 0
    let jobId: string | undefined
    let total = 0
    const progress = values.watch === true && values.json !== true ? new Progress() : undefined
    let finished: () => void = () => {}
    const ended = new Promise<void>(resolve => { finished = resolve })
    if (values.watch === true) {
      // Subscribe before submitting so no event of the job is missed.
      stopEvents = await client.events(event => {
        if (event.source !== 'requester' || event.jobId !== jobId) return
        if (event.type === 'task.done') {
          done++
          perProvider.set(event.provider, (perProvider.get(event.provider) ?? 0) + 1)
        } else if (event.type === 'task.failed') failed++
        else if (event.type === 'job.finished') finished()
        progress?.update({ done, failed, total, perProvider, startedAt })
      })
    }
    let status: JobStatus
    try {
      status = await client.submitJob(spec, dirname(path))
      jobId = status.job.id
      total = status.job.taskCount
      if (values.json !== true) console.error(`job ${jobId} submitted: ${total} tasks`)
      if (values.watch !== true) {
        if (values.json === true) console.log(JSON.stringify(status))
        else console.log(jobId)
        return 0
      }
      status = await waitForEnd(client, jobId, ended)
    } finally {
      stopEvents()
    }
    progress?.update({ done, failed, total, perProvider, startedAt }, true)
    if (values.json === true) console.log(JSON.stringify(status))
    else printStatus(status)
    return status.job.state === 'completed' ? 0 : 1
  },
}

/** Waits for the job.finished event, checking the status now and then in case events were missed. */
async function waitForEnd (client: ConunClient, jobId: string, ended: Promise<void>): Promise<JobStatus> {
  while (true) {
    const status = await client.job(jobId)
    if (status.job.state !== 'running') return status
    await Promise.race([ended, new Promise(resolve => setTimeout(resolve, 2000))])
  }
}
