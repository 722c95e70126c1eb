#!/usr/bin/env node
// The CLI is TypeScript (src/cli/main.ts), loaded through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
