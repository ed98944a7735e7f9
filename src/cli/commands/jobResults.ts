import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { finished, pipeline } from 'node:stream/promises'
import { connect } from '../connect.ts'
import { formatBytes } from '../../util/index.ts'
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseFlags, UsageError } from '../usage.ts'
import type { Command } from '../usage.ts'
import type { ConunClient } from '../../sdk/index.ts'
import type { EndedTask } from '../../requester/index.ts'

const help = `Usage: conun job results <job-id> --out <dir> [options]

Downloads a job's results: for each task that has ended, DIR/<task>/stdout, DIR/<task>/stderr and
the files it wrote to /out under DIR/<task>/out/, plus DIR/results.json (exit codes, providers,
CIDs, in the order the tasks ended). Any size of job is read page by page.

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
    await mkdir(out, { recursive: true })
    // Page by page, in the order tasks ended, so a job of any size is never held whole in memory.
    const summary = createWriteStream(join(out, 'results.json'))
    let bytes = 0
    let done = 0
    let ended = 0
    let job: { id: string, taskCount: number } | undefined
    for (let after = 0, full = true; full;) {
      const page = await client.endedTasks(positionals[0]!, after, PAGE_SIZE)
      if (job === undefined) summary.write(`{\n"job": ${JSON.stringify(page.job)},\n"tasks": [\n`)
      job = page.job
      for (const task of page.tasks) {
        bytes += await writeOutputs(client, join(out, String(task.idx)), task)
        summary.write(`${ended === 0 ? '' : ',\n'}${JSON.stringify(task)}`)
        ended++
        if (task.state === 'done') done++
      }
      full = page.tasks.length === PAGE_SIZE
      after = page.next
    }
    summary.end('\n]\n}\n')
    await finished(summary)
    if (values.json === true) await pipeline(createReadStream(join(out, 'results.json')), process.stdout, { end: false })
    else console.log(`job ${job!.id}: ${done}/${job!.taskCount} tasks with results${ended > done ? ` (${ended - done} ended without)` : ''}, ${formatBytes(bytes)} written to ${out}`)
    return 0
  },
}

/** Ended tasks read per request. */
const PAGE_SIZE = 1000

/** Writes one task's stdout, stderr and /out files under `taskDir`; returns the bytes written. */
async function writeOutputs (client: ConunClient, taskDir: string, task: EndedTask): Promise<number> {
  let bytes = 0
  for (const output of task.outputs) {
    const target = output.kind === 'file' ? join(taskDir, 'out', output.path) : join(taskDir, output.kind)
    // Output paths come from a provider: never let one write outside the task's folder.
    if (!target.startsWith(taskDir + sep)) throw new Error(`refusing output path ${output.path} of task ${task.idx}`)
    await mkdir(dirname(target), { recursive: true })
    // What the job recorded for the output is all that is written, whatever the DAG behind it says.
    await pipeline(await client.content(output.cid, output.size), createWriteStream(target))
    bytes += output.size
  }
  return bytes
}
