import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { connect } from '../connect.ts'
import { formatBytes } from '../../util/index.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags, UsageError } from '../usage.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun job results <job-id> --out <dir> [options]

Downloads a job's results: for each task, DIR/<task>/stdout, DIR/<task>/stderr and the files it
wrote to /out under DIR/<task>/out/, plus DIR/results.json (exit codes, providers, CIDs).

Options:
  --out DIR         where to write the results (required)
  --json            print results.json to stdout as well
${CLIENT_OPTIONS_HELP}`

export const jobResults: Command = {
  name: 'job results',
  summary: 'download a job\'s outputs',
  help,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_OPTIONS, out: { type: 'string' }, json: { type: 'boolean' } }, help, { min: 1, max: 1 })
    if (values.out === undefined) throw new UsageError('--out <dir> is required', help)
    const out = resolve(values.out)
    const client = await connect(values)
    const results = await client.results(positionals[0]!)
    let bytes = 0
    for (const task of results.tasks) {
      const taskDir = join(out, String(task.idx))
      for (const output of task.outputs) {
        const target = output.kind === 'file' ? join(taskDir, 'out', output.path) : join(taskDir, output.kind)
        // Output paths come from a provider: never let one write outside the task's folder.
        if (!target.startsWith(taskDir + sep)) throw new Error(`refusing output path ${output.path} of task ${task.idx}`)
        await mkdir(dirname(target), { recursive: true })
        // What the job recorded for the output is all that is written, whatever the DAG behind it says.
        await pipeline(await client.content(output.cid, output.size), createWriteStream(target))
        bytes += output.size
      }
    }
    await mkdir(out, { recursive: true })
    const summary = JSON.stringify(results, null, 2)
    await writeFile(join(out, 'results.json'), summary + '\n')
    if (values.json === true) console.log(summary)
    else {
      const done = results.tasks.filter(task => task.state === 'done').length
      console.log(`job ${results.job.id}: ${done}/${results.tasks.length} tasks with results, ${formatBytes(bytes)} written to ${out}`)
    }
    return 0
  },
}
