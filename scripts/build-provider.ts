/**
 * `npm run build:provider`: builds the provider's bundle (build/provider/main.mjs) now, if it is
 * missing or older than its sources, so that providers started next do not each build it (see
 * src/cli/providerBundle.ts), and strips the WASI worker's modules to JavaScript (see
 * src/runtime/wasi/workerScript.ts). Installs and `npm test` run it; a provider does both itself otherwise.
 */
import { freshBundle, PROVIDER_BUNDLE } from '../src/cli/providerBundle.ts'
import { prepareWorkerScript } from '../src/runtime/index.ts'

prepareWorkerScript()

const built = await freshBundle()
if (built === undefined) {
  console.error(`could not build ${PROVIDER_BUNDLE.outfile}: providers will run from the sources`)
  process.exitCode = 1
} else {
  console.log(`provider bundle: ${built}`)
}
