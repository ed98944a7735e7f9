// The conun CLI's entry. A provider started with --provide relaunches with its process settings
// before anything else loads (loading the commands takes a second or two); see providerProcess.ts.
import { isProviderStart, relaunchAsProvider } from './providerProcess.ts'

const argv = process.argv.slice(2)
if (isProviderStart(argv)) relaunchAsProvider()
const { main } = await import('./run.ts')
process.exitCode = await main(argv)
