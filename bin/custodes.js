#!/usr/bin/env node
// The CLI is TypeScript (src/client/cli.ts), loaded through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/client/cli.ts');
process.exitCode = await main(process.argv.slice(2));
