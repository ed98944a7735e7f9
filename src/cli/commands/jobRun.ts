import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { connect } from '../connect.ts'
import { Progress } from '../progress.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags, UsageError } from '../usage.ts'
import { printStatus } from './jobStatus.ts'
import { followJob } from '../../sdk/index.ts'
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
    const path = resolve(positionals[0]!)
    let spec: unknown
    try {
      spec = JSON.parse(await readFile(path, 'utf8'))
    } catch (error) {
      throw new UsageError(`cannot read the job spec ${path}: ${(error as Error).message}`, help)
    }
    const client = await connect(values)
    const submit = async () => {
      const status = await client.submitJob(spec, dirname(path))
      if (values.json !== true) console.error(`job ${status.job.id} submitted: ${status.job.taskCount} tasks`)
      return status
    }
    if (values.watch !== true) {
      const status = await submit()
      console.log(values.json === true ? JSON.stringify(status) : status.job.id)
      return 0
    }
    const bar = values.json === true ? undefined : new Progress()
    const { status, progress } = await followJob(client, submit, current => bar?.update(current))
    bar?.update(progress, true)
    if (values.json === true) console.log(JSON.stringify(status))
    else printStatus(status)
    return status.job.state === 'completed' ? 0 : 1
  },
}
