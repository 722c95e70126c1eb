import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, dohResolver, webhookUrlVerdict, type Resolver } from './webhook-policy';

const deployment = { emulator: false };
const refused = (url: string, policy = deployment) => !webhookUrlVerdict(url, policy).ok;

describe('webhook URL policy (issue 29)', () => {
  it('refuses loopback, private, shared, benchmarking, link-local, multicast and reserved addresses in every encoding', () => {
    for (const url of [
      'https://127.0.0.2/x',
      'https://0x7f000002/x', // hex
      'https://2130706434/x', // one decimal number
      'https://0177.0.0.1/x', // octal
      'https://127.1/x', // short form
      'https://127.255.255.254/x',
      'https://10.1.2.3/x',
      'https://172.31.0.1/x',
      'https://192.168.1.1/x',
      'https://100.64.0.1/x', // shared, RFC 6598
      'https://198.18.0.1/x', // benchmarking, RFC 2544
      'https://198.19.255.255/x',
      'https://169.254.169.254/latest/meta-data', // cloud metadata
      'https://0.0.0.0/x',
      'https://224.0.0.1/x',
      'https://255.255.255.255/x',
      'https://192.0.2.1/x',
      'https://[::1]/x',
      'https://[::]/x',
      'https://[::ffff:127.0.0.1]/x', // IPv4-mapped
      'https://[::ffff:a9fe:a9fe]/x', // mapped metadata
      'https://[64:ff9b::7f00:1]/x', // NAT64 of loopback
      'https://[2002:7f00:1::]/x', // 6to4 of loopback
      'https://[fd00::1]/x',
      'https://[fe80::1]/x',
      'https://[ff02::1]/x',
      'https://[2001:db8::1]/x',
    ]) {
      expect(refused(url), url).toBe(true);
    }
    expect(refused('https://1.1.1.1/x')).toBe(false);
    expect(refused('https://[2606:4700:4700::1111]/x')).toBe(false);
  });

  it('refuses names that only mean something inside a network, plain http, credentials and other ports', () => {
    for (const url of [
      'https://metadata.google.internal/x',
      'https://localhost/x',
      'https://db.local/x',
      'https://intranet/x',
      'https://svc.home.arpa/x',
      'http://hooks.acme.io/x',
      'https://u:p@hooks.acme.io/x',
      'https://hooks.acme.io:8443/x',
      'ftp://hooks.acme.io/x',
      'not a url',
    ]) {
      expect(refused(url), url).toBe(true);
    }
    expect(refused('https://hooks.acme.io/x')).toBe(false);
    expect(webhookUrlVerdict('https://hooks.acme.io:8443/x', { emulator: false, allowedPorts: [8443] }).ok).toBe(true);
  });

  it('checks every address a name resolves to: one private answer refuses it', async () => {
    const dns: Record<string, string[]> = {
      'localtest.me': ['127.0.0.1'],
      '127.0.0.1.nip.io': ['127.0.0.1'],
      'split.acme.io': ['93.184.216.34', '10.0.0.5'],
      'v6.acme.io': ['::ffff:169.254.169.254'],
      'hooks.acme.io': ['93.184.216.34', '2606:4700::6810:84e5'],
      'empty.acme.io': [],
    };
    const resolve: Resolver = async (name) => {
      if (name === 'broken.acme.io') throw new Error('SERVFAIL');
      return dns[name] ?? [];
    };
    const verdict = (url: string) => checkWebhookUrl(url, deployment, resolve);
    for (const url of [
      'https://localtest.me/x',
      'https://127.0.0.1.nip.io/x',
      'https://split.acme.io/x',
      'https://v6.acme.io/x',
      'https://empty.acme.io/x',
      'https://broken.acme.io/x',
    ]) {
      expect((await verdict(url)).ok, url).toBe(false);
    }
    expect((await verdict('https://hooks.acme.io/x')).ok).toBe(true);
  });

  it('asks a DNS-over-HTTPS resolver for A and AAAA, without following redirects', async () => {
    const asked: string[] = [];
    const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
      asked.push(`${String(input)} ${init?.redirect}`);
      const type = new URL(String(input)).searchParams.get('type');
      const Answer =
        type === 'A'
          ? [
              { type: 5, data: 'alias.acme.io.' },
              { type: 1, data: '10.0.0.9' },
            ]
          : [];
      return Response.json({ Status: 0, Answer });
    }) as typeof fetch;
    expect(await dohResolver('https://dns.example/dns-query', fetcher)('hooks.acme.io')).toEqual(['10.0.0.9']);
    expect(asked).toEqual([
      'https://dns.example/dns-query?name=hooks.acme.io&type=A manual',
      'https://dns.example/dns-query?name=hooks.acme.io&type=AAAA manual',
    ]);
  });

  it('the emulator allows http://127.0.0.1:<port> and http://localhost:<port> only, never itself', () => {
    const emulator = { emulator: true, selfOrigin: 'http://127.0.0.1:8787' };
    expect(webhookUrlVerdict('http://127.0.0.1:4000/hook', emulator).ok).toBe(true);
    expect(webhookUrlVerdict('http://localhost:4000/hook', emulator).ok).toBe(true);
    for (const url of [
      'http://127.0.0.1:8787/_emulator/reset',
      'http://localhost:8787/v1/health',
      'http://127.0.0.1:4000/_emulator/reset',
      'https://127.0.0.1:4000/x',
      'http://[::1]:4000/x',
      'http://127.0.0.2:4000/x',
      'http://hooks.acme.io/x',
    ]) {
      expect(refused(url, emulator), url).toBe(true);
    }
  });
});
