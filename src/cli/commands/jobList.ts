import { connect } from '../connect.ts'
import { table } from '../format.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun job list [options]

Lists this node's jobs, newest first.

Options:
  --json            print JSON
${CLIENT_OPTIONS_HELP}`

export const jobList: Command = {
  name: 'job list',
  summary: 'list jobs',
  help,
  async run (argv) {
    const { values } = parseFlags(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, help, { min: 0, max: 0 })
    const jobs = await (await connect(values)).jobs()
    if (values.json === true) {
      console.log(JSON.stringify(jobs))
      return 0
    }
    if (jobs.length === 0) {
      console.log('no jobs yet (submit one with: conun job run <job.json>)')
      return 0
    }
    console.log(table(['JOB', 'NAME', 'STATE', 'DONE', 'FAILED', 'TASKS', 'CREATED'], jobs.map(({ job, counts }) => [
      job.id, job.spec.name, job.state, String(counts.done), String(counts.failed), String(job.taskCount), new Date(job.createdAt).toISOString(),
    ])))
    return 0
  },
}
