import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createWasiRuntime } from '../src/runtime/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'

export interface ExampleRun {
  readonly exitCode: number
  readonly stdout: Uint8Array
  readonly stderr: string
  /** Files the module left in /out, by path. */
  readonly files: Map<string, Uint8Array>
}

export interface ExampleRunOptions {
  /** Files the module sees in /in: name inside /in → local path. */
  readonly inputs?: ReadonlyArray<{ readonly name: string, readonly path: string }>
  readonly timeoutMs?: number
}

/** Builds an example module and runs it in conun's own WASI sandbox, as a provider would. */
export async function exampleRunner (name: string): Promise<{ run(args: string[], options?: ExampleRunOptions): Promise<ExampleRun>, close(): Promise<void> }> {
  const modulePath = (await buildExamples({ log: () => {} })).find(path => basename(path) === `${name}.wasm`)
  if (modulePath === undefined) throw new Error(`buildExamples did not produce ${name}.wasm`)
  const workDir = await mkdtemp(join(tmpdir(), `conun-${name}-`))
  const runtime = createWasiRuntime({ slots: 2, workDir })
  return {
    async run (args, { inputs = [], timeoutMs = 60_000 } = {}) {
      const limits = { memoryBytes: 256 * 1024 * 1024, timeoutMs, outputBytes: 64 * 1024 * 1024 }
      const outcome = await runtime.run({ moduleCid: `example-${name}`, modulePath, args, env: {}, inputs, limits })
      if (outcome.status !== 'exit') throw new Error(`${name} failed: ${outcome.reason}: ${outcome.message}`)
      const stderr = Buffer.from(outcome.stderr).toString('utf8')
      return { exitCode: outcome.exitCode, stdout: outcome.stdout, stderr, files: new Map(outcome.files.map(file => [file.path, file.bytes])) }
    },
    async close () {
      await runtime.close()
      await rm(workDir, { recursive: true, force: true })
    },
  }
}
