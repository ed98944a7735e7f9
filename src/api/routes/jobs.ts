import { z } from 'zod'
import { parseJobSpec } from '../../requester/index.ts'
import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'
import type { EndedTasksPage, JobResults } from '../../sdk/index.ts'

const resultsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
})
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

  app.get('/jobs/:id/results', async (request): Promise<JobResults | EndedTasksPage> => {
    const { id } = jobParams.parse(request.params)
    const { after, limit } = resultsQuery.parse(request.query)
    // Paged: the tasks that ended after number `after`, in the order they ended; `next` asks for the following page.
    if (after !== undefined) {
      const tasks = node.requester.endedTasks(id, after, limit)
      return { job: node.requester.status(id).job, tasks: tasks.map(task => ({ ...task, replicasReturned: 0 })), next: tasks.at(-1)?.seq ?? after }
    }
    const details = node.requester.taskDetails(id)
    // Read in the same turn as the outcomes: what ends later is numbered after `next`.
    const next = node.requester.lastEndedSeq(id)
    return { job: node.requester.status(id).job, tasks: node.requester.outcomes(id).map(task => ({ ...task, ...(details[task.idx] ?? { args: [], replicasReturned: 0 }) })), next }
  })

  app.post('/jobs/:id/cancel', async request => {
    const { id } = jobParams.parse(request.params)
    await node.requester.cancel(id)
    return node.requester.status(id)
  })
}
