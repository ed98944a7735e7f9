// WGSL shaders bundled into the pages as text (Vite's `?raw` imports).
declare module '*.wgsl?raw' {
  const text: string
  export default text
}
