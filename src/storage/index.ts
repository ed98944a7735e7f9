export { createStorage, EMPTY_OUTPUT, inlineCid, parseCid } from './createStorage.ts'
export type { FetchOptions, Storage, StoredContent } from './createStorage.ts'
export { ContentNotFoundError, InvalidCidError } from './errors.ts'
export { PROTOCOL_BLOCKS } from './blockExchange.ts'
