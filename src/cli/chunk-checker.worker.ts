/** A worker thread of the parallel record checker (./parallel-verify.ts): checks chunks of each job it is sent, then says so. */
import { parentPort } from 'node:worker_threads';
import { checkChunks, type SharedJob } from './chunk-checker';

parentPort?.on('message', (job: SharedJob) => {
  checkChunks(job);
  parentPort?.postMessage('done');
});
