import { assertSignedBy, FramedStream, MAX_TASK_FRAME_BYTES, signBody, SIGNING_DOMAIN, toProvider, WireError } from '../net/index.ts'
import { AgreedSession } from './agreedSession.ts'
import type { ProviderContext } from './providerContext.ts'
import type { AgreementProposal, SessionResume } from '../net/index.ts'
import type { Connection, Stream } from '@libp2p/interface'

type SessionStream = FramedStream<typeof toProvider>

/** The agent's agreed sessions, by `sessionKey`. */
export type SessionRegistry = Map<string, AgreedSession>

/** Sessions are known by requester and agreement id: two requesters may pick the same id. */
const sessionKey = (requester: string, agreementId: string) => `${requester}/${agreementId}`

/**
 * A stream of /conun/task/1.0.0 from a requester: it opens an agreed session (the agreement
 * handshake) or carries on one whose stream broke (session.resume), then brings task assignments,
 * cancellations, receipts and heartbeats in; the session sends signed result batches out. A bad
 * message ends this session only; the agent keeps serving.
 */
export async function serveTaskSession (stream: Stream, connection: Connection, context: ProviderContext, sessions: SessionRegistry): Promise<void> {
  const framed: SessionStream = new FramedStream(stream, toProvider, MAX_TASK_FRAME_BYTES)
  const requester = connection.remotePeer.toString()
  const refuse = async (error: WireError) => {
    context.events.emit({ type: 'protocol.rejected', peer: requester, code: error.code, message: error.message })
    await framed.fail(error)
  }
  let session: AgreedSession | undefined
  try {
    const first = await framed.read()
    if (first.type === 'agreement.propose') session = await openSession(first, framed, connection, context, sessions)
    else if (first.type === 'session.resume') session = await resumeSession(first, framed, requester, sessions)
    else await refuse(new WireError('unexpected', `a session starts with agreement.propose or session.resume, not ${first.type}`))
    if (session === undefined) return
    while (true) {
      const message = await framed.read()
      if (message.type === 'task.assign') session.assign(message.tasks)
      else if (message.type === 'task.cancel') session.cancel(message.taskIds)
      else if (message.type === 'session.ping') session.pong(framed, message.nonce)
      else if (message.type === 'task.receipt') {
        if (context.payments === undefined) context.events.emit({ type: 'receipt.rejected', jobId: session.agreement.jobId, reason: 'this provider has no chain to claim on' })
        else context.payments.accept(message, session.agreement, connection.remotePeer)
      } else if (message.type === 'session.end') {
        session.end()
        return
      } else {
        await refuse(new WireError('unexpected', `${message.type} may only open a stream`))
        session.end()
        return
      }
    }
  } catch (error) {
    if (!(error instanceof WireError)) throw error
    if (error.code === 'closed') return
    await refuse(error)
    session?.end()
  } finally {
    // A stream that broke leaves its session waiting a while for the requester to resume it.
    session?.detach(framed)
  }
}

async function openSession (proposal: AgreementProposal, framed: SessionStream, connection: Connection, context: ProviderContext, sessions: SessionRegistry): Promise<AgreedSession | undefined> {
  const requester = connection.remotePeer
  const { body } = proposal
  assertSignedBy(requester, SIGNING_DOMAIN.agreementProposal, body, proposal.signature)
  if (body.chainId !== context.chainId) throw new WireError('unexpected', `agreement is for chain ${body.chainId}, this provider is on ${context.chainId}`)
  if (body.provider.toLowerCase() !== context.key.address.toLowerCase()) throw new WireError('unexpected', `agreement names provider ${body.provider}, this is ${context.key.address}`)
  if (body.expiresAt <= Date.now()) throw new WireError('unexpected', 'agreement proposal has expired')
  const decision = await context.admit(body, requester)
  if (!decision.accept) {
    await framed.write({ type: 'agreement.reject', v: 1, agreementId: body.agreementId, reason: decision.reason })
    await framed.close()
    return undefined
  }
  const key = sessionKey(requester.toString(), body.agreementId)
  sessions.get(key)?.end()
  const session = new AgreedSession({ agreement: body, requester, window: decision.maxInFlight, context, onEnd: () => { if (sessions.get(key) === session) sessions.delete(key) } })
  sessions.set(key, session)
  const accepted = { agreementId: body.agreementId, jobId: body.jobId, chainId: context.chainId, provider: context.key.address, maxInFlight: decision.maxInFlight }
  await framed.write({ type: 'agreement.accept', v: 1, body: accepted, signature: signBody(context.key.secret, SIGNING_DOMAIN.agreementAcceptance, accepted) })
  session.attach(framed)
  context.events.emit({ type: 'agreement.accepted', jobId: body.jobId, requester: requester.toString() })
  return session
}

async function resumeSession (resume: SessionResume, framed: SessionStream, requester: string, sessions: SessionRegistry): Promise<AgreedSession | undefined> {
  const session = sessions.get(sessionKey(requester, resume.agreementId))
  if (session === undefined || session.isEnded) {
    await framed.fail(new WireError('unexpected', `no session ${resume.agreementId} to resume (it ended, or never was)`))
    return undefined
  }
  const lost = session.resume(resume.outstanding)
  await framed.write({ type: 'session.resumed', v: 1, agreementId: resume.agreementId, lost })
  session.attach(framed)
  return session
}
