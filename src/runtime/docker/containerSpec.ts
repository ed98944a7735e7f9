/** The body of `POST /containers/create` for one task: every confinement is set here, in one place. */
import type { TaskRunRequest } from '../types.ts'

export interface ContainerPlan {
  readonly imageId: string
  readonly request: TaskRunRequest
  /** Host folders bind-mounted at /in (read-only) and /out. */
  readonly inDir: string
  readonly outDir: string
  /** `uid:gid` the task runs as; never root. */
  readonly user: string
  readonly pidsLimit: number
  readonly cpus: number
  /** Labels that let the runtime find its own containers again (e.g. after a crash). */
  readonly labels: Readonly<Record<string, string>>
}

/** /tmp is a tmpfs in the container's memory; it counts against the memory limit too. */
export const TMP_BYTES = 64 * 1024 * 1024
const SIGXFSZ = 25
/** Exit status of a task the kernel stopped for writing a file larger than RLIMIT_FSIZE. */
export const FILE_SIZE_EXIT_CODE = 128 + SIGXFSZ

export function containerSpec (plan: ContainerPlan): Record<string, unknown> {
  const { request } = plan
  const [entrypoint, ...cmd] = request.args
  const memory = request.limits.memoryBytes
  return {
    Image: plan.imageId,
    // The task's args are its whole argv, replacing the image's entrypoint; none runs the image's own.
    ...(entrypoint === undefined ? {} : { Entrypoint: [entrypoint], Cmd: cmd }),
    Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
    User: plan.user,
    WorkingDir: '/',
    // An image's HEALTHCHECK would have the daemon exec its command in the container on a timer of the image's choosing.
    Healthcheck: { Test: ['NONE'] },
    Labels: plan.labels,
    NetworkDisabled: true,
    AttachStdout: true,
    AttachStderr: true,
    ...(request.stdin === undefined ? {} : { AttachStdin: true, OpenStdin: true, StdinOnce: true }),
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Binds: [`${plan.inDir}:/in:ro`, `${plan.outDir}:/out:rw`],
      Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${Math.min(TMP_BYTES, memory)}` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      IpcMode: 'private',
      PidsLimit: plan.pidsLimit,
      Memory: memory,
      // Equal to Memory: no swap on top of it.
      MemorySwap: memory,
      NanoCpus: Math.round(plan.cpus * 1e9),
      // One file cannot outgrow the output limit: the kernel stops the writer (SIGXFSZ) at that size.
      Ulimits: [
        { Name: 'fsize', Soft: Math.max(request.limits.outputBytes, TMP_BYTES), Hard: Math.max(request.limits.outputBytes, TMP_BYTES) },
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
      ],
      // Output is read live from the attach stream and capped there; nothing goes to the daemon's disk.
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
    },
  }
}
