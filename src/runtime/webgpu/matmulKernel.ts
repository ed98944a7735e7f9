/**
 * The tiled f32 matmul kernel (matmul.wgsl) and its tile edge: n and a block's rows are multiples of
 * it. A function, not a module constant: the browser bundle imports the runtime's door, and has no file URLs.
 */
export const matmulWgslPath = () => new URL('./matmul.wgsl', import.meta.url).pathname
export const MATMUL_TILE = 16
