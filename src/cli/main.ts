// The conun CLI's entry. `node start` relaunches with a node's process settings before anything
// else loads (loading the commands takes a second or two); see nodeProcess.ts.
import { enableCompileCache } from 'node:module'
import { applyRoleSettings, nodeStartRole, relaunchAs } from './nodeProcess.ts'

// V8's code cache for the ~2,400 modules a command loads (in the OS temp dir, keyed by their content):
// about 30 % less CPU at every start after the first, for nodes and one-shot commands alike.
enableCompileCache()

const argv = process.argv.slice(2)
const role = nodeStartRole(argv)
if (role !== undefined) {
  await relaunchAs(role)
  applyRoleSettings()
}
const { main } = await import('./run.ts')
process.exitCode = await main(argv)
