/** The `Buffer` global the shared modules use, for the browser bundle (esbuild `inject`). */
export { Buffer } from 'buffer';
