import { ConunClient } from '../sdk/index.ts'
import { defaultDataDir } from '../node/index.ts'

/** The client for the node named by --api/--token, or the one running on --data-dir. */
export async function connect (values: { 'data-dir'?: string, api?: string, token?: string }): Promise<ConunClient> {
  if (values.api !== undefined) {
    const token = values.token ?? process.env.CONUN_API_TOKEN
    if (token === undefined) throw new Error('--api needs --token (or CONUN_API_TOKEN)')
    return new ConunClient({ url: values.api, token })
  }
  return ConunClient.fromDataDir(values['data-dir'] ?? defaultDataDir())
}
