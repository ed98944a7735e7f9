export { createApi } from './createApi.ts'
export type { Api, ApiInit } from './createApi.ts'
export type { ApiDeps } from './apiDeps.ts'
export { ApiError } from './errors.ts'
