/** The `custodes` executable: the installed package's `cli/custodes.js` is this file, bundled (scripts/build-cli.ts). */
import { main } from './main';

process.exitCode = await main(process.argv.slice(2));
