/**
 * The certificate lifecycle with the real `outpost serve` process and curl as
 * the node: the CA made on first start is kept across restarts; an expiring
 * or expired server certificate (made here) and a changed domain list are
 * re-issued on start; `outpost certs` reports it; `outpost certs rotate-ca`
 * plus SIGHUP switches a running server to a new CA without a restart.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { tempDir } from '../helpers/server.js'
import { buildRegistry2 } from '../helpers/fixtures.js'
import { requireTool, run, runOk, startProcess, waitFor, type Spawned } from '../helpers/procs.js'
import { parseLogLine } from '../helpers/logs.js'
import { createServerCert, describeCert, tlsPaths } from '../../src/tls/index.js'
import { writeCertAndKey } from '../../src/tls/store.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
const DOMAIN = 'outpost.registry.local'
const DAY = 86_400_000

/** The environment without OUTPOST_* settings, so the machine's own cannot leak in. */
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OUTPOST_')))

interface Outpost {
  proc: Spawned
  http: string
  https: string
  httpsPort: string
}

describe('certificates across restarts, renewal and CA rotation (outpost serve + curl)', () => {
  let dir: string
  let dataDir: string
  let configFile: string
  let registry: string
  let curl: string
  const running = new Set<Spawned>()

  /** Flags every command shares: an empty config file, our data dir, loopback ephemeral ports. */
  const common = (domains: string[]) => ['--config', configFile, '--data-dir', dataDir, ...domains.flatMap((d) => ['--domain', d])]

  const serve = async (domains = [DOMAIN]): Promise<Outpost> => {
    const proc = startProcess(
      process.execPath,
      [
        ...CLI,
        'serve',
        ...common(domains),
        '--registry-root',
        registry,
        '--http',
        '127.0.0.1:0',
        '--https',
        '127.0.0.1:0',
        '--push',
        'off',
        '--ntp',
        'off',
      ],
      { env: cleanEnv() },
    )
    running.add(proc)
    const urls: Record<string, string> = {}
    await waitFor(
      () => {
        for (const line of proc.output().split('\n')) {
          if (!line.includes('"msg":"listening"')) continue
          const l = parseLogLine(line) as { listener: string; url: string }
          urls[l.listener] = l.url
        }
        if (proc.child.exitCode !== null) throw new Error(`outpost exited ${proc.child.exitCode}: ${proc.output()}`)
        return Boolean(urls.http && urls.https)
      },
      'outpost to listen',
      30_000,
    )
    return { proc, http: urls.http!, https: urls.https!, httpsPort: new URL(urls.https!).port }
  }

  const stop = async (o: Outpost): Promise<void> => {
    await o.proc.stop()
    running.delete(o.proc)
  }

  /** A node: fetch /ca.crt over HTTP, then pull over HTTPS by the registry name, fully verified. */
  const nodePull = async (o: Outpost, name = DOMAIN): Promise<string> => {
    const ca = join(dir, `node-ca-${Date.now()}.crt`)
    await runOk(curl, ['-fsS', '-o', ca, `${o.http}/ca.crt`])
    const r = await runOk(curl, [
      '-fsS',
      '--cacert',
      ca,
      '--resolve',
      `${name}:${o.httpsPort}:127.0.0.1`,
      '-H',
      'Accept: application/vnd.oci.image.index.v1+json',
      `https://${name}:${o.httpsPort}/v2/library/multi/manifests/latest`,
    ])
    assert.match(r.stdout, /"manifests"/)
    return readFileSync(ca, 'utf8')
  }

  /** The server certificate a fresh handshake gets. */
  const served = async (o: Outpost): Promise<X509Certificate> => {
    const openssl = requireTool('openssl', 'openssl')
    const r = await runOk(openssl, ['s_client', '-connect', `127.0.0.1:${o.httpsPort}`, '-servername', DOMAIN], { input: '' })
    return new X509Certificate(r.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0])
  }

  const caOnDisk = () => readFileSync(tlsPaths(dataDir).caCert, 'utf8')
  const caPair = () => ({ cert: caOnDisk(), key: readFileSync(tlsPaths(dataDir).caKey, 'utf8') })

  before(async () => {
    curl = requireTool('curl', 'curl')
    requireTool('openssl', 'openssl')
    dir = tempDir('outpost-e2e-renew-')
    dataDir = join(dir, 'data')
    configFile = join(dir, 'empty.yaml')
    writeFileSync(configFile, '')
    registry = join(dir, 'registry')
    await buildRegistry2(registry)
  })

  after(async () => {
    for (const p of running) await p.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  let firstCa: string

  test('first start makes the CA; a restart keeps CA and server certificate', async () => {
    const a = await serve()
    firstCa = await nodePull(a)
    const leafA = await served(a)
    assert.match(a.proc.output(), /"msg":"created a CA"/)
    await stop(a)

    const b = await serve()
    assert.equal(await nodePull(b), firstCa)
    assert.equal((await served(b)).fingerprint256, leafA.fingerprint256)
    assert.doesNotMatch(b.proc.output(), /created a CA|issued a server certificate/)
    await stop(b)
  })

  for (const [label, days, ageDays, reason] of [
    ['a soon-expiring', 10, 0, 'expires-soon'],
    ['an expired', 5, 10, 'expired'],
  ] as const) {
    test(`${label} server certificate is re-issued on start; the CA is kept`, async () => {
      const old = await createServerCert({
        // The names the current one has (this host's), so only its dates are wrong.
        sans: describeCert(readFileSync(tlsPaths(dataDir).serverCert, 'utf8')).sans,
        days,
        backdateHours: 0,
        now: new Date(Date.now() - ageDays * DAY),
        ca: caPair(),
      })
      const p = tlsPaths(dataDir)
      writeCertAndKey(p.serverCert, p.serverKey, old)
      const before = await runOk(process.execPath, [...CLI, 'certs', ...common([DOMAIN])], { env: cleanEnv() })
      assert.match(before.stdout, new RegExp(`status +re-issued at the next start or daily check \\(${reason}`))

      const o = await serve()
      assert.match(o.proc.output(), new RegExp(`"reason":"${reason}".*"msg":"issued a server certificate"`))
      assert.equal(await nodePull(o), firstCa, 'CA kept')
      const leaf = await served(o)
      assert.notEqual(leaf.fingerprint256, new X509Certificate(old.cert).fingerprint256)
      assert.ok(new Date(leaf.validTo).getTime() > Date.now() + 800 * DAY, 'full lifetime again')
      await stop(o)
    })
  }

  test('a changed domain list re-issues the certificate; the new name verifies; the CA is kept', async () => {
    const domains = [DOMAIN, 'registry.example.internal']
    const o = await serve(domains)
    assert.match(o.proc.output(), /"reason":"names".*registry\.example\.internal/)
    assert.equal(await nodePull(o, 'registry.example.internal'), firstCa)
    assert.equal(await nodePull(o, DOMAIN), firstCa)
    const status = await runOk(process.execPath, [...CLI, 'certs', ...common(domains)], { env: cleanEnv() })
    assert.match(status.stdout, /names +DNS:outpost\.registry\.local, DNS:registry\.example\.internal, /)
    assert.match(status.stdout, /status +ok/)
    await stop(o)
  })

  test('outpost certs prints both certificates; --ca prints the CA PEM', async () => {
    const r = await runOk(process.execPath, [...CLI, 'certs', ...common([DOMAIN, 'registry.example.internal'])], { env: cleanEnv() })
    const ca = describeCert(firstCa)
    assert.match(r.stdout, /^CA +.*\/tls\/ca\.crt$/m)
    assert.match(r.stdout, /^Server +.*\/tls\/server\.crt$/m)
    assert.ok(r.stdout.includes(ca.fingerprint256), 'CA fingerprint shown')
    assert.match(r.stdout, /subject +O=Outpost, CN=outpost\.registry\.local/)
    assert.match(r.stdout, /valid +\S+ → \S+ \(\d+ days left\)/)
    const pem = await runOk(process.execPath, [...CLI, 'certs', '--ca', ...common([DOMAIN])], { env: cleanEnv() })
    assert.equal(pem.stdout, firstCa)
    const empty = await run(process.execPath, [...CLI, 'certs', '--ca', '--config', configFile, '--data-dir', join(dir, 'nothing')], {
      env: cleanEnv(),
    })
    assert.equal(empty.status, 1)
    assert.match(empty.stderr, /no CA yet/)
  })

  test('rotate-ca with a server running, then SIGHUP: new CA served, old CA refused, no restart', async () => {
    const o = await serve()
    const pid = o.proc.child.pid
    const before = await served(o)
    const r = await runOk(process.execPath, [...CLI, 'certs', 'rotate-ca', ...common([DOMAIN])], { env: cleanEnv() })
    assert.match(r.stdout, /Made a new CA .* previous files are in .*\/tls\/old\//)
    assert.match(r.stdout, /Every node must trust the new CA/)
    assert.match(r.stdout, /update-ca-certificates/)
    assert.match(r.stdout, /systemctl reload outpost/)
    const newCa = caOnDisk()
    assert.notEqual(newCa, firstCa)
    // Still the old chain until told.
    assert.equal((await served(o)).fingerprint256, before.fingerprint256)
    o.proc.child.kill('SIGHUP')
    await waitFor(() => /"result":"swapped"/.test(o.proc.output()), 'the SIGHUP check to swap', 15_000)
    assert.equal(o.proc.child.pid, pid)
    assert.equal(await nodePull(o), newCa)
    const oldTrust = join(dir, 'old-ca.crt')
    writeFileSync(oldTrust, firstCa)
    const refused = await run(curl, [
      '-sS',
      '--cacert',
      oldTrust,
      '--resolve',
      `${DOMAIN}:${o.httpsPort}:127.0.0.1`,
      `https://${DOMAIN}:${o.httpsPort}/v2/`,
    ])
    assert.equal(refused.status, 60, 'a node with only the old CA is refused')
    await stop(o)
  })

  test('a missing ca.key stops start-up with what to do; the CA is not replaced', async () => {
    const ca = caOnDisk()
    rmSync(tlsPaths(dataDir).caKey)
    const r = await run(
      process.execPath,
      [...CLI, 'serve', ...common([DOMAIN]), '--http', '127.0.0.1:0', '--https', '127.0.0.1:0', '--push', 'off', '--ntp', 'off'],
      {
        env: cleanEnv(),
        timeoutMs: 30_000,
      },
    )
    assert.equal(r.status, 2)
    assert.match(r.stderr, /outpost: TLS: .*ca\.crt is present but ca\.key is missing; .*rotate-ca/)
    assert.equal(caOnDisk(), ca)
  })
})
