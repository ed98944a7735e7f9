export { EventHub } from './eventHub.ts'
export { openDatabase, transaction } from './openDatabase.ts'
export { encodePng } from './png.ts'
export { concatBytes, equalBytes, fromBase64, toBase64 } from './bytes.ts'
