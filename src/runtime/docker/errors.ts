import { ConunError } from '../../util/index.ts'

/** A call to the Docker Engine API that the daemon answered with an error status. */
export class DockerEngineError extends ConunError {
  override readonly name = 'DockerEngineError'
  readonly code = 'docker-engine'
  readonly kind = 'unavailable'
  readonly status: number
  readonly call: string

  constructor (status: number, call: string, message: string) {
    super(`Docker Engine: ${call} answered ${status}: ${message}`)
    this.status = status
    this.call = call
  }
}

/** The tarball is not a loadable image: a fact about the job, reported as `invalid-image`. */
export class InvalidImageError extends ConunError {
  override readonly name = 'InvalidImageError'
  readonly code = 'invalid-image'
  readonly kind = 'invalid'
}
