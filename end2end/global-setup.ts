// Starts what the scenarios need and returns the teardown that stops it:
// - a test CA and a certificate for 127.0.0.1 (openssl), so the webhook receiver speaks HTTPS and
//   the server trusts it through its test-only `--test-webhook-ca` setting;
// - the main `ilive` server on a free port with a fresh SQLite database, and a tenant API key
//   (with its webhook signing secret) made with `ilive keys create`;
// - a second server with a 3-second session TTL, for the expired-session page.
// Builds nothing: run.sh builds the binary and the browser bundle first.
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..');
const cache = process.env.ILIVE_CACHE || path.join(os.homedir(), '.cache/ilive');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(cache, 'target');
const bin = process.env.ILIVE_BIN || path.join(targetDir, 'debug/ilive');
const siteRoot = process.env.ILIVE_SITE_ROOT || path.join(repo, 'target/site');

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

async function startServer(dir: string, name: string, extra: string[]): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(dir, `${name}.log`);
  const out = fs.openSync(log, 'a');
  const args = ['--addr', `127.0.0.1:${port}`, '--public-url', url,
    '--database-url', `sqlite://${path.join(dir, name + '.db')}`, '--site-root', siteRoot,
    '--dev-allow-insecure-urls', '--direct-rate-limit', '1000',
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

  // The tenant and its key, in the main server's database before it starts.
  const keyOut = execFileSync(bin, ['--database-url', `sqlite://${path.join(dir, 'main.db')}`,
    'keys', 'create', '--tenant', 'e2e'], { encoding: 'utf8', env: { ...process.env, RAYON_NUM_THREADS: '1' } });
  const apiKey = keyOut.match(/iksk_[0-9a-f]+/)?.[0];
  const secret = keyOut.match(/webhook signing secret: (\S+)/)?.[1];
  if (!apiKey || !secret) throw new Error(`unexpected output of ilive keys create:\n${keyOut}`);

  const main = await startServer(dir, 'main', ['--test-webhook-ca', path.join(dir, 'ca.pem'),
    '--challenge-secs', process.env.E2E_CHALLENGE_SECS || '12', '--webhook-backoff-secs', '1']);
  let short: Server;
  try {
    short = await startServer(dir, 'short', ['--session-ttl-secs', '3', '--sweep-interval-secs', '1']);
  } catch (e) {
    await stop(main);
    throw e;
  }

  Object.assign(process.env, {
    E2E_DIR: dir,
    E2E_BASE_URL: main.url,
    E2E_SHORT_TTL_URL: short.url,
    E2E_API_KEY: apiKey,
    E2E_WEBHOOK_SECRET: secret,
    E2E_HOOK_CERT: path.join(dir, 'hook.pem'),
    E2E_HOOK_KEY: path.join(dir, 'hook.key'),
  });
  console.log(`[e2e] ilive at ${main.url} (short TTL at ${short.url}); logs and databases in ${dir}`);

  return async () => {
    await stop(short);
    await stop(main);
    if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  };
}
