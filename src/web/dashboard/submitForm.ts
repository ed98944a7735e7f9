/**
 * Submitting a job from the page: the spec is checked with the node's own schema before anything
 * is uploaded (an invalid spec changes nothing), then the picked files its sources name are
 * uploaded, and the spec goes to the node with CIDs in their place. Problems show inline.
 */
import { isCid } from '../../util/index.ts'
import { JobSpecError, mapSources, parseJobSpec, specSources } from '../../requester/index.ts'
import { byId, fill } from '../common/dom.ts'
import { ConunApiError } from '../../sdk/browser.ts'
import type { NodeApi } from '../common/nodeApi.ts'
import type { JobStatus } from '../../requester/index.ts'

const EXAMPLE_SPEC = {
  name: 'mandelbrot',
  runtime: 'wasi',
  module: 'mandelbrot.wasm',
  range: { count: 192, args: ['--width', '1280', '--height', '960', '--tile-size', '80', '--tile', '{i}', '--max-iter', '500'] },
  limits: { memoryMb: 64, timeoutMs: 30000 },
}

export function setUpSubmitForm (api: NodeApi, onSubmitted: (status: JobStatus) => void): void {
  const form = byId<HTMLFormElement>('submit-form')
  const spec = byId<HTMLTextAreaElement>('spec')
  const files = byId<HTMLInputElement>('files')
  const errors = byId('submit-errors')
  const status = byId('submit-status')
  const submit = byId<HTMLButtonElement>('submit')
  if (spec.value === '') spec.value = JSON.stringify(EXAMPLE_SPEC, null, 2)

  const showErrors = (title: string, issues: readonly string[] = []) => fill(errors, [title, ...issues.map(issue => `  • ${issue}`)].join('\n'))

  form.addEventListener('submit', event => {
    event.preventDefault()
    fill(errors)
    fill(status)
    let json: unknown
    try {
      json = JSON.parse(spec.value)
    } catch (error) {
      showErrors(`The spec is not valid JSON: ${(error as Error).message}`)
      return
    }
    let parsed
    try {
      parsed = parseJobSpec(json)
    } catch (error) {
      if (error instanceof JobSpecError) showErrors('The spec is invalid:', error.issues)
      else showErrors((error as Error).message)
      return
    }
    const picked = new Map([...(files.files ?? [])].map(file => [file.name, file]))
    const missing = specSources(parsed).filter(source => !picked.has(baseName(source)) && !isCid(source))
    if (missing.length > 0) {
      showErrors('Pick these files (matched by name) or give their CIDs:', missing)
      return
    }
    submit.disabled = true
    void (async () => {
      try {
        const cids = new Map<string, string>()
        for (const source of specSources(parsed)) {
          const file = picked.get(baseName(source))
          if (file === undefined) continue
          fill(status, `uploading ${file.name}…`)
          cids.set(source, (await api.uploadBytes(file)).cid)
        }
        const submitted = await api.submitSpec(mapSources(parsed, source => cids.get(source) ?? source))
        fill(status, `job ${submitted.job.id} submitted`)
        onSubmitted(submitted)
      } catch (error) {
        fill(status)
        if (error instanceof ConunApiError) showErrors(`The node refused the job: ${error.message}`, error.issues)
        else showErrors((error as Error).message)
      } finally {
        submit.disabled = false
      }
    })()
  })
}

function baseName (path: string): string {
  return path.split('/').at(-1) ?? path
}
