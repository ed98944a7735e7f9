// The far end of the transfer benchmark, in its own process: a storage node holding the test file,
// and a raw TCP server sending the same bytes, so both copies cross a real process boundary.
import { createReadStream } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { generateNodeKey } from '../src/identity/index.ts'
import { hostOptions } from '../src/net/index.ts'
import { createStorage } from '../src/storage/index.ts'

const [file, dir] = process.argv.slice(2) as [string, string]
const key = await generateNodeKey()
const storage = await createStorage(join(dir, 'ipfs'), await hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
const { cid } = await storage.putFile(file)
const server = createServer(socket => createReadStream(file).pipe(socket))
await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
const address = server.address()
process.stdout.write(JSON.stringify({ cid, multiaddr: storage.libp2p.getMultiaddrs()[0]!.toString(), tcpPort: typeof address === 'object' && address !== null ? address.port : 0 }) + '\n')
process.stdin.resume()
process.stdin.on('end', async () => {
  server.close()
  await storage.stop()
  process.exit(0)
})
