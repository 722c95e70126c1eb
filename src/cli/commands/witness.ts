/**
 * `custodes witness init|serve`: run a witness (C2SP tlog-witness) for
 * Custodes logs — a tenant for its own log, or a third party for many — so
 * that a provider showing one history to some readers and another to the
 * rest is caught (src/witness; docs/decisions.md, "Witnesses").
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { generatePrincipalKey } from '../../sdk/keys';
import { cosignerVkey } from '../../audit/format/cosignature';
import { parseVerifierKey } from '../../audit/format/note';
import { FileWitnessStore } from '../../witness/store';
import { serveWitness } from '../../witness/server';
import { Witness } from '../../witness/witness';
import { action, numberOption, UsageError, type Emit } from '../context';
import { base64urlToBytes } from '../../lib/bytes';

interface WitnessKeyFile {
  name: string;
  jwk: { kty: string; crv: string; x: string; d: string };
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

function readWitnessKey(file: string): WitnessKeyFile {
  if (!existsSync(file)) throw new UsageError(`${file} does not exist: make one with \`custodes witness init --witness-key ${file} --name <name>\`.`);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<WitnessKeyFile>;
  if (!parsed.name || parsed.jwk?.kty !== 'OKP' || parsed.jwk.crv !== 'Ed25519' || !parsed.jwk.d)
    throw new UsageError(`${file} is not a witness key file (name and a private Ed25519 JWK).`);
  return parsed as WitnessKeyFile;
}

export function witnessCommands(program: Command, emit: Emit): void {
  const witness = program.command('witness').description("run a witness that cosigns the audit logs' checkpoints (C2SP tlog-witness)");
  action<{ witnessKey: string; name: string; force?: boolean }>(
    witness
      .command('init')
      .description('make a witness key; prints the vkey verifiers pin')
      .requiredOption('--witness-key <file>', "where to write the witness's private key (mode 0600)")
      .requiredOption('--name <name>', "the witness's name, a schema-less URL such as witness.example/w1")
      .option('--force', 'replace an existing file (its key is lost)'),
    emit,
    async (_, o) => {
      if (existsSync(o.witnessKey) && !o.force) throw new UsageError(`${o.witnessKey} exists; pass --force to replace it (the old key is lost).`);
      if (/[\s+]/.test(o.name)) throw new UsageError('--name may hold neither spaces nor "+".');
      const jwk = (await generatePrincipalKey('EdDSA')) as WitnessKeyFile['jwk'];
      writeFileSync(o.witnessKey, `${JSON.stringify({ name: o.name, jwk }, null, 2)}\n`, { mode: 0o600 });
      const vkey = cosignerVkey(o.name, base64urlToBytes(jwk.x));
      return {
        json: { name: o.name, vkey, keyFile: o.witnessKey },
        text: `Wrote the witness key to ${o.witnessKey}.\nvkey (give it to verifiers: custodes audit verify --witness <vkey>):\n${vkey}`,
      };
    },
  );
  action<{ witnessKey: string; state: string; logKey: string[]; origin: string[]; port?: number; host: string }>(
    witness
      .command('serve')
      .description('serve POST /add-checkpoint until stopped')
      .requiredOption('--witness-key <file>', 'the witness key (custodes witness init)')
      .requiredOption('--state <file>', 'where the latest cosigned checkpoint of each log is kept (survives restarts)')
      .requiredOption('--log-key <vkey>', 'a log key to trust (GET /v1/audit/log-key); repeat across a key hand-over', repeatable)
      .option('--origin <origin>', 'a log origin to witness, or a prefix ending in * (default custodes/*)', repeatable)
      .addOption(numberOption('--port <port>', 'port (default 0: a free one)'))
      .option('--host <host>', 'address to listen on', '127.0.0.1'),
    emit,
    async (_, o) => {
      const { name, jwk } = readWitnessKey(o.witnessKey);
      for (const vkey of o.logKey) {
        try {
          parseVerifierKey(vkey);
        } catch (error) {
          throw new UsageError(`--log-key ${vkey}: ${(error as Error).message}`);
        }
      }
      const logs = { origins: o.origin?.length ? o.origin : ['custodes/*'], keys: o.logKey };
      const served = new Witness({ name, privateJwk: jwk, logs, store: new FileWitnessStore(o.state) });
      const { url } = await serveWitness(served, logs, { port: o.port ?? 0, host: o.host });
      return {
        json: { name, vkey: served.vkey, url, logs },
        text: `Witness ${name} at ${url} (POST ${url}/add-checkpoint)\nvkey: ${served.vkey}\nwitnessing ${logs.origins.join(', ')}`,
      };
    },
  );
}
