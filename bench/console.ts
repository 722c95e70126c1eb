/**
 * Verifying a 10,000-record log in the browser (issue 18): the console's
 * verifier — the SDK's, with each record's signature on WebCrypto — in
 * Debian's chromium, beside `custodes audit verify` (Node, every core) on the
 * same log in the same run. The log is a recovery-bench history written into
 * D1 as the sequencer writes it (bench/recovery.ts), served by `wrangler dev`
 * with the console's static assets.
 */
import { writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { resolve } from 'node:path';
import { main, type Io } from '../src/cli/main';
// @ts-expect-error plain JavaScript, no declarations
import { buildConsole } from '../scripts/build-console.js';
import { launchBrowser, offlinePage } from '../test/node/support/browser';
import { createScene, writeHistory } from './recovery';
import { api, d1File, DIR, instanceSecrets, mintTokens, startWorker, stopWorker } from './workers';

export const BROWSER_LOG_SIZE = 10_000;

declare const document: { body: { innerText: string }; querySelector(s: string): { click(): void } | null };

async function cliVerify(url: string, tenant: string, keyFile: string, state: string): Promise<number> {
  let out = '';
  const io: Io = { out: (t) => (out += typeof t === 'string' ? t : ''), err: () => {} };
  const code = await main(
    ['audit', 'verify', '--tenant', tenant, '--key', keyFile, '--iss', tenant, '--url', url, '--state', state, '--trust-on-first-use', '--json'],
    io,
  );
  if (code !== 0) throw new Error(`custodes audit verify failed: ${out}`);
  return (JSON.parse(out) as { seconds: number }).seconds;
}

export async function consoleReport(port = 8793): Promise<string[]> {
  const name = 'console';
  await buildConsole();
  const { admin, auditKey, vars } = await instanceSecrets();
  let worker = await startWorker(name, port, vars);
  const setup = await mintTokens(admin, 20);
  let scene: Awaited<ReturnType<typeof createScene>>;
  try {
    await api(worker.url, setup, 'POST', '/v1/admin/hosts', { name: 'console-host', vcpus: 64, memoryMiB: 1024 * 1024, diskGiB: 1000 });
    scene = await createScene(worker.url, setup, BROWSER_LOG_SIZE);
  } finally {
    await stopWorker(worker.child);
  }
  const db = new DatabaseSync(d1File(resolve(DIR, name)));
  await writeHistory(db, scene, auditKey, 4242);
  db.close();
  worker = await startWorker(name, port, vars);
  const browser = await launchBrowser();
  try {
    const keyFile = resolve(DIR, 'console-owner.jwk');
    writeFileSync(keyFile, JSON.stringify(scene.owner.jwk));
    const { page, blocked } = await offlinePage(browser);
    await page.goto(`${worker.url}/console/`, { waitUntil: 'networkidle0' });
    const input = await page.waitForSelector('input[type=file]');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(keyFile);
    await page.type('input[name=principal]', scene.tenant);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.body.innerText.includes('Audit timeline'), { timeout: 60_000 });
    const runs: { records: number; seconds: number }[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(`${worker.url}/console/#/verify`);
      await page.waitForFunction(() => !!document.querySelector('main button'), { timeout: 60_000 });
      await page.evaluate(() => document.querySelector('main button')!.click());
      await page.waitForFunction(() => /Verified|failed/.test(document.body.innerText), { timeout: 300_000 });
      const text = await page.evaluate(() => document.body.innerText);
      const match = /(\d+) records: every signature, the Merkle root and the signed checkpoint check out in ([\d.]+) s/.exec(text);
      if (!match) throw new Error(`the browser did not verify the log: ${text.slice(0, 500)}`);
      runs.push({ records: Number(match[1]), seconds: Number(match[2]) });
    }
    if (blocked.length > 0) throw new Error(`the console sent requests off the machine: ${blocked.join(', ')}`);
    const cli: number[] = [];
    for (let i = 0; i < 3; i++) cli.push(await cliVerify(worker.url, scene.tenant, keyFile, resolve(DIR, `console-cli-state-${i}.json`)));
    const best = (xs: number[]) => Math.min(...xs);
    const browserBest = best(runs.map((r) => r.seconds));
    const records = runs[0]!.records;
    return [
      '## Verifying a 10,000-record log in the browser',
      '',
      `A tenant log of ${records.toLocaleString('en')} records (a recovery-bench history of ${BROWSER_LOG_SIZE.toLocaleString('en')} actions written into D1 as the sequencer writes it, served by \`wrangler dev\`), verified in full — every record's Ed25519 signature, the RFC 9162 root, the C2SP checkpoint — three times each, best shown: in headless Chromium by the console (the SDK's verifier; signatures on WebCrypto; downloading the records included), and by \`custodes audit verify\` (Node, the records checked on every core; downloading included), same run, same machine.`,
      '',
      '| verifier | records | seconds (best of 3) | records/s | runs, s |',
      '|---|---|---|---|---|',
      `| console in Chromium | ${records} | ${browserBest.toFixed(2)} | ${Math.round(records / browserBest)} | ${runs.map((r) => r.seconds.toFixed(2)).join(', ')} |`,
      `| custodes audit verify (CLI) | ${records} | ${best(cli).toFixed(2)} | ${Math.round(records / best(cli))} | ${cli.map((s) => s.toFixed(2)).join(', ')} |`,
      '',
      `The browser takes ${(browserBest / best(cli)).toFixed(1)}× the CLI's time. The second and third browser runs also check consistency with the checkpoint the first saved in the page's localStorage.`,
    ];
  } finally {
    await browser.close();
    await stopWorker(worker.child);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdirSync, rmSync } = await import('node:fs');
  rmSync(resolve(DIR, 'console'), { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  console.log((await consoleReport()).join('\n'));
}
