export { EventHub } from './eventHub.ts'
export { openDatabase, transaction } from './openDatabase.ts'
export { encodePng } from './png.ts'
export { Semaphore } from './semaphore.ts'
