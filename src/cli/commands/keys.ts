/** `custodes keygen` and `custodes token`: principal keys and the tokens they sign (docs/design.md §2). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { generatePrincipalKey, keyId, mintToken, publicKeyOf, type SigningAlgorithm } from '../../sdk/keys';
import {
  action,
  adminIdOf,
  choiceOption,
  commaList,
  LOCAL_ADMIN_KEY,
  numberOption,
  publicKeyPathOf,
  readJwk,
  spaceList,
  UsageError,
  type Emit,
} from '../context';

export function keyCommands(program: Command, emit: Emit): void {
  action<{ out: string; alg: SigningAlgorithm; force?: boolean }>(
    program
      .command('keygen')
      .description('generate a principal key pair: the private half in --out, the public half beside it (NAME.pub.jwk) to give the provider')
      .requiredOption('--out <file>', 'where to write the private JWK (mode 0600)')
      .addOption(choiceOption('--alg <alg>', 'signature algorithm', ['EdDSA', 'ES256']).default('EdDSA'))
      .option('--force', 'replace an existing file (its key is lost)'),
    emit,
    async (_, o) => {
      const publicFile = publicKeyPathOf(o.out);
      if (existsSync(o.out) && !o.force) throw new UsageError(`${o.out} exists; pass --force to replace it (the old key is lost).`);
      const key = await generatePrincipalKey(o.alg);
      mkdirSync(dirname(o.out), { recursive: true });
      writeFileSync(o.out, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
      const publicJwk = publicKeyOf(key);
      writeFileSync(publicFile, `${JSON.stringify(publicJwk, null, 2)}\n`);
      const kid = await keyId(key);
      return {
        json: { kid, publicJwk, privateKeyFile: o.out, publicKeyFile: publicFile },
        text: `Wrote the private key to ${o.out} (keep it; it never leaves your machine)\nand its public half to ${publicFile} (give this one to the provider: --owner-key, --public-key).\nkid: ${kid}`,
      };
    },
  );
  action<{ scope?: string[]; vms?: string[]; ttl?: number }>(
    program
      .command('token')
      .description('mint one single-use token, for curl and other clients (uses --key and --iss)')
      .option('--scope <scopes>', 'scopes, e.g. "memory:read keys"', spaceList)
      .option('--vms <ids>', 'limit the token to these VMs (comma-separated)', commaList)
      .addOption(numberOption('--ttl <seconds>', 'lifetime, at most 900 (default 300)')),
    emit,
    async (_, o) => {
      const ttl = o.ttl ?? 300;
      if (ttl > 900) throw new UsageError('--ttl may be at most 900 seconds (15 minutes): the API refuses longer-lived tokens.');
      const keyPath = o.key ?? process.env.CUSTODES_KEY ?? LOCAL_ADMIN_KEY;
      // A local admin's key names its own id (.custodes/admins.json); any other key needs --iss.
      const principal = o.iss ?? process.env.CUSTODES_PRINCIPAL ?? adminIdOf(keyPath);
      const jwt = await mintToken({ key: readJwk(keyPath, 'Key file'), principal, audience: o.aud, scope: o.scope, vms: o.vms, ttlSeconds: ttl });
      return { json: { token: jwt }, text: jwt };
    },
  );
}
