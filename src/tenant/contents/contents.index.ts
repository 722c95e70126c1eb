import { createRouter } from '../../platform/http/router';
import { contentHandlers, purgeContents } from './contents.handlers';
import { diskBlocks, memory, purge } from './contents.routes';

const memoryHandlers = contentHandlers('memory');
const diskBlockHandlers = contentHandlers('disk');

// The handlers read their validated input generically (contents.handlers.ts), hence the casts.
export const contentsRouter = createRouter()
  .openapi(memory.write, memoryHandlers.write as never)
  .openapi(memory.read, memoryHandlers.read as never)
  .openapi(memory.readVersion, memoryHandlers.readVersion as never)
  .openapi(diskBlocks.write, diskBlockHandlers.write as never)
  .openapi(diskBlocks.read, diskBlockHandlers.read as never)
  .openapi(diskBlocks.readVersion, diskBlockHandlers.readVersion as never)
  .openapi(purge, purgeContents);
