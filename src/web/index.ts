/** The node side of the web domain: the browser pages' bundle, built on demand and served by the API. */
export { buildWebBundle, ensureWebBundle, isWebBundleCurrent, WEB_BUILD_DIR, WebBundleError } from './bundle.ts'
