import { Readable } from 'node:stream'
import { z } from 'zod'
import { parseJobSpec } from '../../requester/index.ts'
import { turn } from '../../util/index.ts'
import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'
import type { EndedTasksPage, JobResults } from '../../sdk/index.ts'

const resultsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  from: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
}).refine(query => query.after === undefined || query.from === undefined, 'give either after (tasks in the order they ended) or from (tasks in index order), not both')
/** Tasks read from the store at a time while a whole job's results are streamed. */
const STREAM_PAGE = 1000
const jobParams = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'a job id is 16 hex digits') })

/** Jobs: submit (with CIDs, as uploaded through /content), follow, read results, cancel. */
export function jobRoutes (app: FastifyInstance, node: ApiDeps): void {
  app.post('/jobs', async (request, reply) => {
    const job = await node.requester.submitJob(parseJobSpec(request.body))
    return reply.status(201).send(node.requester.status(job.id))
  })

  app.get('/jobs', async request => {
    const { limit } = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).parse(request.query)
    return { jobs: node.requester.jobs(limit) }
  })

  app.get('/jobs/:id', async request => {
    const { id } = jobParams.parse(request.params)
    return { ...node.requester.status(id), payment: await node.requester.payment(id) }
  })

  app.get('/jobs/:id/results', async (request, reply): Promise<JobResults | EndedTasksPage> => {
    const { id } = jobParams.parse(request.params)
    const { after, from, limit } = resultsQuery.parse(request.query)
    // Paged: the tasks that ended after number `after`, in the order they ended; `next` asks for the following page.
    if (after !== undefined) {
      const tasks = node.requester.endedTasks(id, after, limit)
      return { job: node.requester.status(id).job, tasks: tasks.map(task => ({ ...task, replicasReturned: 0 })), next: tasks.at(-1)?.seq ?? after }
    }
    const { job } = node.requester.status(id)
    // Read before the tasks: whatever ends after this is numbered after `next`, so a reader that
    // follows with `after=next` misses nothing.
    const next = node.requester.lastEndedSeq(id)
    if (from !== undefined) return { job, tasks: node.requester.outcomes(id, from, limit), next }
    // The whole job, written a page at a time: a job of a million tasks is never one array in memory.
    return reply.type('application/json').send(Readable.from(wholeJob(node, job, next)))
  })

  app.post('/jobs/:id/cancel', async request => {
    const { id } = jobParams.parse(request.params)
    await node.requester.cancel(id)
    return node.requester.status(id)
  })
}

async function * wholeJob (node: ApiDeps, job: JobResults['job'], next: number): AsyncGenerator<string> {
  yield `{"job":${JSON.stringify(job)},"tasks":[`
  let separator = ''
  for (let from = 0; from < job.taskCount; from += STREAM_PAGE) {
    const tasks = node.requester.outcomes(job.id, from, STREAM_PAGE)
    if (tasks.length === 0) continue
    yield separator + tasks.map(task => JSON.stringify(task)).join(',')
    separator = ','
    // Between pages, the node's other work goes on (results coming in, other requests).
    await turn()
  }
  yield `],"next":${next}}`
}
