/**
 * `npm run build:web`: bundles the dashboard and the browser provider into build/web with Vite.
 * Nodes build it on demand too; this is for building ahead (e.g. before packaging).
 */
import { buildWebBundle, WEB_BUILD_DIR } from '../src/web/index.ts'

await buildWebBundle(line => console.log(line))
console.log(`built ${WEB_BUILD_DIR}`)
