// Starts what the scenarios need and returns the teardown that stops it:
// - a test CA and a certificate for 127.0.0.1 (openssl), so the webhook receiver speaks HTTPS and
//   the server trusts it through its test-only `--test-webhook-ca` setting;
// - the main `ilive` server on a free port with a fresh SQLite database, and a tenant API key
//   (with its webhook signing secret) made with `ilive keys create`;
// - a second server with a 3-second session TTL, for the expired-session page;
// - a standalone frontend on an origin the main server allows (CORS), listening for the whole run.
// Builds nothing: run.sh builds the binary and the browser bundle first.
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { serveFrontend } from './frontend-server';

const repo = path.resolve(__dirname, '..');
const cache = process.env.ILIVE_CACHE || path.join(os.homedir(), '.cache/ilive');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(cache, 'target');
const bin = process.env.ILIVE_BIN || path.join(targetDir, 'debug/ilive');
const siteRoot = process.env.ILIVE_SITE_ROOT || path.join(repo, 'target/site');

/** Direct sessions per minute per client address on the server behind the proxy. */
const PROXIED_RATE_LIMIT = 6;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function makeCerts(dir: string) {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=iLive end-to-end test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'hook.key', '-out', 'hook.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'hook.ext'), [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n') + '\n');
  ossl('x509', '-req', '-in', 'hook.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'hook.pem', '-days', '2', '-extfile', 'hook.ext');
}

interface Server { url: string; proc: ChildProcess; log: string }

async function startServer(
  dir: string, name: string, extra: string[], opts: { publicUrl?: string; directRateLimit?: number } = {},
): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(dir, `${name}.log`);
  const out = fs.openSync(log, 'a');
  const args = ['--addr', `127.0.0.1:${port}`, '--public-url', opts.publicUrl || url,
    '--database-url', `sqlite://${path.join(dir, name + '.db')}`, '--site-root', siteRoot,
    '--dev-allow-insecure-urls', '--direct-rate-limit', String(opts.directRateLimit || 1000),
    // A fixed capacity, as in the server's tests: measured on a busy test machine it could be 1,
    // and a scenario's direct session that never connects holds its slot for 30 s.
    '--max-live-sessions', '8', ...extra, 'serve'];
  const proc = spawn(bin, args, {
    stdio: ['ignore', out, out],
    env: { ...process.env, RAYON_NUM_THREADS: process.env.RAYON_NUM_THREADS || '1' },
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`ilive (${name}) exited with ${proc.exitCode}:\n${fs.readFileSync(log, 'utf8').slice(-4000)}`);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`ilive (${name}) not ready after 120 s:\n${fs.readFileSync(log, 'utf8').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, proc, log };
}

/**
 * nginx in front of `upstream` with TLS on a free loopback port, configured by the repository's
 * own deploy/nginx.conf (its listen address, certificate and upstream replaced), as a deployment
 * would use it. The certificate is the test CA's loopback certificate.
 */
async function startProxy(dir: string, upstream: string, port: number): Promise<ChildProcess> {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
  if (!nginx) throw new Error('nginx is not installed: run scripts/setup.sh --browser');
  const site = fs.readFileSync(path.join(repo, 'deploy/nginx.conf'), 'utf8')
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('/etc/ssl/ilive/fullchain.pem', path.join(dir, 'hook.pem'))
    .replace('/etc/ssl/ilive/privkey.pem', path.join(dir, 'hook.key'))
    .replace('http://127.0.0.1:3000', upstream);
  const p = (name: string) => path.join(dir, name);
  const conf = [
    // As root, nginx's workers would drop to `nobody`, who cannot use this private folder.
    process.getuid?.() === 0 ? 'user root;' : '',
    'daemon off;', 'worker_processes 1;', `pid ${p('nginx.pid')};`, `error_log ${p('nginx-error.log')};`,
    'events { worker_connections 256; }',
    'http {',
    `  access_log ${p('nginx-access.log')};`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${p('nginx-' + t)};`),
    site,
    '}',
  ].join('\n');
  fs.writeFileSync(p('nginx.conf'), conf);
  const proc = spawn(nginx, ['-c', p('nginx.conf'), '-p', dir, '-e', p('nginx-error.log')], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`nginx exited with ${proc.exitCode}:\n${fs.readFileSync(p('nginx-error.log'), 'utf8')}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (open) return proc;
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error('nginx did not listen'); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(s: Server) {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export default async function globalSetup() {
  if (!fs.existsSync(bin)) throw new Error(`no ilive binary at ${bin}: run end2end/run.sh`);
  if (!fs.existsSync(path.join(siteRoot, 'pkg'))) throw new Error(`no browser bundle in ${siteRoot}: run end2end/run.sh`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ilive-e2e-'));
  makeCerts(dir);

  // The tenant and its key, in each server's database before it starts.
  const createKey = (db: string) => {
    const out = execFileSync(bin, ['--database-url', `sqlite://${path.join(dir, db)}`,
      'keys', 'create', '--tenant', 'e2e'], { encoding: 'utf8', env: { ...process.env, RAYON_NUM_THREADS: '1' } });
    const key = out.match(/iksk_[0-9a-f]+/)?.[0];
    const secret = out.match(/webhook signing secret: (\S+)/)?.[1];
    if (!key || !secret) throw new Error(`unexpected output of ilive keys create:\n${out}`);
    return { key, secret };
  };
  const { key: apiKey, secret } = createKey('main.db');
  const { key: shortApiKey } = createKey('short.db');
  // A standalone frontend whose origin the main server allows to create direct sessions.
  const frontend = await serveFrontend();
  const corsOrigin = frontend.origin;

  const main = await startServer(dir, 'main', ['--test-webhook-ca', path.join(dir, 'ca.pem'),
    '--cors-origins', corsOrigin,
    '--challenge-secs', process.env.E2E_CHALLENGE_SECS || '12', '--webhook-backoff-secs', '1']);
  let short: Server;
  let proxied: Server;
  let proxy: ChildProcess;
  const proxyPort = await freePort();
  const proxyUrl = `https://127.0.0.1:${proxyPort}`;
  try {
    short = await startServer(dir, 'short', ['--session-ttl-secs', '3', '--sweep-interval-secs', '1']);
    // Behind the TLS proxy: its public URL is the proxy's, it trusts one proxy's
    // X-Forwarded-For entry, and a low direct-session limit shows whose address it counts.
    proxied = await startServer(dir, 'proxied', ['--trusted-proxies', '1'],
      { publicUrl: proxyUrl, directRateLimit: PROXIED_RATE_LIMIT });
    proxy = await startProxy(dir, proxied.url, proxyPort);
  } catch (e) {
    for (const s of [main, short!, proxied!]) if (s) await stop(s);
    frontend.server.close();
    throw e;
  }

  Object.assign(process.env, {
    E2E_DIR: dir,
    E2E_BASE_URL: main.url,
    E2E_SHORT_TTL_URL: short.url,
    E2E_API_KEY: apiKey,
    E2E_PROXY_URL: proxyUrl,
    E2E_PROXIED_RATE_LIMIT: String(PROXIED_RATE_LIMIT),
    E2E_SHORT_API_KEY: shortApiKey,
    E2E_CORS_ORIGIN: corsOrigin,
    E2E_WEBHOOK_SECRET: secret,
    E2E_HOOK_CERT: path.join(dir, 'hook.pem'),
    E2E_HOOK_KEY: path.join(dir, 'hook.key'),
  });
  console.log(`[e2e] ilive at ${main.url} (short TTL at ${short.url}); logs and databases in ${dir}`);

  return async () => {
    frontend.server.close();
    proxy.kill('SIGTERM');
    await stop(proxied);
    await stop(short);
    await stop(main);
    if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  };
}
