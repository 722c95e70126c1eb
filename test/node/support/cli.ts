/**
 * The `custodes` CLI run in this process against one instance, as the Node
 * tests drive it: exit code, standard output as text and as bytes (decrypted
 * contents), standard error.
 */
import { main, type Io } from '../../../src/cli/main';

export interface CliRun {
  code: number;
  out: string;
  bytes: Buffer;
  err: string;
}

export async function runCli(url: string, argv: string[]): Promise<CliRun> {
  const chunks: Buffer[] = [];
  let err = '';
  const io: Io = { out: (t) => chunks.push(Buffer.from(t)), err: (t) => (err += t) };
  const code = await main([...argv, '--url', url], io);
  const bytes = Buffer.concat(chunks);
  return { code, out: bytes.toString(), bytes, err };
}
