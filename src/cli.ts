#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * outpost serve | demo | verify [--repos] | ls | certs [--ca] | certs rotate-ca | check-config | --version
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import {
  loadConfig,
  ConfigError,
  checkConfigFile,
  createLogger,
  startServer,
  tlsSettingsOf,
  type OutpostConfig,
  type RunningServer,
  type Logger,
} from './server/index.js'
import { daysUntil, readStatus, rotateCa, TlsError, type CertInfo, type ServerDecision } from './tls/index.js'

import { checkTrees, formatReports, type CheckProgress } from './repos/index.js'
import { buildDemoBundle, DEMO_IMAGES } from './demo/index.js'
import cliProgress from 'cli-progress'
import { buildLayout, silentLogger } from './server/index.js'
import { Catalog, openDb, applySchema } from './catalog/index.js'
import { CATALOG_FILE } from './catalog/db.js'
import { CATALOG_SCHEMA } from './catalog/schema.js'
import { verifyContent } from './catalog/verify.js'
import { humanBytes, renderInventoryText } from './nodes/served-inventory.js'

const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    return pkg.version
  } catch {
    return '0.0.0'
  }
})()

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

interface ServeFlags {
  config?: string
  bundle?: string
  registryRoot?: string[]
  ociLayout?: string[]
  filesRoot?: string[]
  imagesOrigin?: string[]
  http?: string
  https?: string
  push?: string
  ntp?: string
  dataDir?: string
  domain?: string[]
  san?: string[]
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
  logLevel?: string
}

/** The flag layer, shaped like the config tree. Repeated flags add to the file's lists. */
const flagTree = (f: ServeFlags): Record<string, unknown> => {
  const tree: Record<string, any> = {}
  const put = (path: string[], value: unknown): void => {
    if (value === undefined) return
    let node = tree
    for (const k of path.slice(0, -1)) node = node[k] ??= {}
    node[path[path.length - 1]!] = value
  }
  put(['bundle'], f.bundle)
  put(['data_dir'], f.dataDir)
  put(['log_level'], f.logLevel)
  put(['listen', 'http'], f.http)
  put(['listen', 'https'], f.https)
  put(['listen', 'push'], f.push)
  put(['listen', 'ntp'], f.ntp)
  put(['registry', 'roots'], f.registryRoot)
  put(['registry', 'oci_layouts'], f.ociLayout)
  put(['registry', 'images_origin'], f.imagesOrigin)
  put(['registry', 'domains'], f.domain)
  put(['files', 'roots'], f.filesRoot)
  put(['tls', 'extra_sans'], f.san)
  put(['tls', 'cert'], f.tlsCert)
  put(['tls', 'key'], f.tlsKey)
  put(['tls', 'ca'], f.tlsCa)
  return tree
}

const addServeOptions = (cmd: Command): Command =>
  cmd
    .option('--config <file>', 'YAML config file (default /etc/outpost/config.yaml when present)')
    .option('--bundle <dir>', 'kubeplay-shaped bundle: DIR/registry, DIR/nginx, DIR/images_origin.yaml')
    .option('--registry-root <dir>', 'registry:2 root (repeatable)', collect)
    .option('--oci-layout <[name=]dir>', 'OCI image layout (repeatable)', collect)
    .option('--files-root <[/prefix=]dir>', 'file root mounted at a URL prefix (repeatable)', collect)
    .option('--images-origin <file>', 'images_origin.yaml upstream name map (repeatable)', collect)
    .option('--http <addr:port|off>', 'plain HTTP listener')
    .option('--https <addr:port|off>', 'HTTPS listener')
    .option('--push <addr:port|off>', 'loopback push listener')
    .option('--ntp <addr:port|off>', 'SNTP listener (UDP)')
    .option('--data-dir <dir>', 'catalog and certificates')
    .option('--domain <name>', 'registry domain (repeatable)', collect)
    .option('--san <name|ip>', 'extra name or address for the server certificate (repeatable)', collect)
    .option('--tls-cert <file>', 'operator-supplied certificate (PEM); Outpost then makes none')
    .option('--tls-key <file>', 'key for --tls-cert')
    .option('--tls-ca <file>', 'CA bundle handed to nodes at /ca.crt with --tls-cert')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))

/** Runs until SIGTERM/SIGINT, then stops gracefully and exits 0. */
const runUntilSignal = (running: RunningServer, logger: Logger): void => {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, 'stopping: no new connections, finishing in-flight requests')
    running.close().then(
      () => {
        logger.info('stopped')
        logger.flush()
        process.exit(0)
      },
      (err) => {
        logger.error({ err }, 'stop failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // `systemctl reload outpost`: check certificates now (e.g. after `outpost certs rotate-ca`).
  process.on('SIGHUP', () => {
    if (!running.tls) return
    void running.tls.check().then((result) => logger.info({ signal: 'SIGHUP', result }, 'certificate check'))
  })
}

const fail = (err: unknown): never => {
  if (err instanceof ConfigError) {
    process.stderr.write(`outpost: invalid configuration\n${err.message}\n`)
    process.exit(2)
  }
  if (err instanceof TlsError) {
    process.stderr.write(`outpost: TLS: ${err.message}\n`)
    process.exit(2)
  }
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES' || e?.code === 'EADDRNOTAVAIL') {
    process.stderr.write(`outpost: cannot listen: ${e.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`outpost: ${e?.stack ?? String(err)}\n`)
  process.exit(1)
}

const serve = async (flags: ServeFlags, defaults: Record<string, unknown> = {}, noDefaultFile = false): Promise<RunningServer> => {
  const { config, warnings } = loadConfig({
    file: flags.config,
    flags: mergeTrees(defaults, flagTree(flags)),
    noDefaultFile,
  })
  const logger = createLogger(config.log_level)
  for (const w of warnings) logger.warn(w)
  const running = await startServer(config, logger)
  runUntilSignal(running, logger)
  return running
}

const mergeTrees = (a: Record<string, any>, b: Record<string, any>): Record<string, any> => {
  const out: Record<string, any> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? mergeTrees(out[k], v) : v
  }
  return out
}

const program = new Command()
program.name('outpost').description('Serves an air-gapped Kubernetes install: images, packages, files, certificates, time.').version(VERSION)

addServeOptions(program.command('serve').description('serve a bundle and configured roots')).action(async (flags: ServeFlags) => {
  await serve(flags).catch(fail)
})

addServeOptions(
  program.command('demo').description('build the small built-in demo bundle under ./.outpost and serve it on loopback'),
).action(async (flags: ServeFlags) => {
  try {
    const dataDir = resolve(flags.dataDir ?? '.outpost')
    const bundle = await buildDemoBundle(join(dataDir, 'demo-bundle'))
    const defaults = {
      bundle,
      data_dir: dataDir,
      listen: { http: '127.0.0.1:8080', https: '127.0.0.1:8443', push: '127.0.0.1:5000', ntp: '127.0.0.1:11123' },
    }
    const running = await serve(flags, defaults, true)
    const http = running.listeners.find((l) => l.name === 'http')
    const base = http?.url ?? 'http://127.0.0.1:8080'
    const hostPort = base.replace(/^https?:\/\//, '')
    const lines = [
      '',
      `Outpost demo is serving ${bundle}`,
      ...running.listeners.map((l) => `  ${l.name.padEnd(6)} ${l.url}`),
      '',
      'Images:',
      ...DEMO_IMAGES.map((i) => `  ${i.repository}:${i.tags.join(', ')}  — ${i.kind}`),
      '',
      'Try:',
      `  curl -s ${base}/v2/_catalog`,
      `  curl -s ${base}/v2/library/hello/tags/list`,
      `  curl -sI -H 'Accept: application/vnd.oci.image.index.v1+json' ${base}/v2/library/hello/manifests/latest`,
      `  curl -s '${base}/v2/pause/manifests/3.9?ns=registry.k8s.io'   # upstream name, as containerd asks`,
      `  skopeo inspect --tls-verify=false docker://${hostPort}/library/hello:latest`,
      ...(running.tls
        ? [`  curl --cacert ${join(dataDir, 'tls', 'ca.crt')} ${running.listeners.find((l) => l.name === 'https')?.url ?? 'https://127.0.0.1:8443'}/v2/_catalog`]
        : []),
      `  skopeo copy --src-tls-verify=false --override-arch arm64 docker://${hostPort}/library/hello:1.0 dir:/tmp/hello-arm64`,
      '',
      'Stop with Ctrl-C.',
      '',
    ]
    process.stderr.write(lines.join('\n'))
  } catch (err) {
    fail(err)
  }
})

/** Loads config for a one-shot command (no listeners). */
const commandConfig = (flags: ServeFlags) => {
  const { config, warnings } = loadConfig({ file: flags.config, flags: flagTree(flags) })
  for (const w of warnings) process.stderr.write(`outpost: ${w}\n`)
  return config
}

/** A progress bar on a terminal; nothing otherwise. */
const progressBar = (label: string) => {
  if (!process.stderr.isTTY) return { update: (_done: number, _total: number) => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {done} of {all}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  return {
    update: (done: number, total: number) => {
      if (!started) {
        bar.start(Math.max(total, 1), 0, { done: humanBytes(0), all: humanBytes(total) })
        started = true
      }
      bar.update(done, { done: humanBytes(done), all: humanBytes(total) })
    },
    stop: () => started && bar.stop(),
  }
}

addServeOptions(
  program
    .command('ls')
    .description('print the inventory of a running Outpost (URL) or of a bundle folder')
    .argument('[target]', 'http(s) URL of a running Outpost, or a bundle folder; default: the configured roots'),
).action(async (target: string | undefined, flags: ServeFlags) => {
  try {
    if (target && /^https?:\/\//.test(target)) {
      const res = await fetch(new URL('/inventory', target), { headers: { accept: 'text/plain' } })
      if (!res.ok) throw new Error(`${target}: HTTP ${res.status}`)
      process.stdout.write(await res.text())
      return
    }
    const config = commandConfig(target ? { ...flags, bundle: resolve(target) } : flags)
    const layout = buildLayout(config)
    const catalog = new Catalog({ db: openDb(':memory:'), stores: layout.stores.uncached, fileRoots: layout.filesRoots, logger: silentLogger() })
    await catalog.scan()
    process.stdout.write(renderInventoryText(catalog.inventory()))
    catalog.close()
  } catch (err) {
    fail(err)
  }
})

const iso = (d: Date): string => d.toISOString().replace(/\.000Z$/, 'Z')

const describe = (label: string, path: string, info: CertInfo, now: Date, withIssuer: boolean): string[] => [
  `${label.padEnd(8)} ${path}`,
  `  subject  ${info.subject}`,
  ...(withIssuer ? [`  issuer   ${info.issuer}`] : []),
  ...(info.sans.length ? [`  names    ${info.sans.join(', ')}`] : []),
  `  key      ${info.key}`,
  `  valid    ${iso(info.notBefore)} → ${iso(info.notAfter)} (${daysUntil(info.notAfter, now)} days left)`,
  `  serial   ${info.serialNumber}`,
  `  sha256   ${info.fingerprint256}`,
]

const decisionText = (d: ServerDecision | null): string =>
  d === null ? 'unknown (no usable CA)' : d === 'reuse' ? 'ok' : `re-issued at the next start or daily check (${d.reissue}: ${d.detail})`

/** Where nodes fetch the CA: the first registry domain on the HTTP port (nodes resolve it to this host). */
const caUrl = (config: OutpostConfig): string => {
  const http = config.listen.http
  return http ? `http://${config.registry.domains[0]}:${http.port}/ca.crt` : `https://${config.registry.domains[0]}/ca.crt`
}

// Positional options: `certs rotate-ca --data-dir X` gives X to rotate-ca, not to certs.
program.enablePositionalOptions()
const certs = addServeOptions(
  program
    .command('certs')
    .enablePositionalOptions()
    .description('show the CA and server certificate; --ca prints the CA PEM')
    .option('--ca', 'print only the CA certificate (PEM), for scripts'),
).action((flags: ServeFlags & { ca?: boolean }) => {
  try {
    const config = commandConfig(flags)
    const now = new Date()
    const status = readStatus(tlsSettingsOf(config), now)
    if (flags.ca) {
      if (!status.ca) {
        process.stderr.write(
          status.source === 'operator'
            ? 'outpost: tls.cert is set without tls.ca: there is no CA to print\n'
            : `outpost: no CA yet in ${status.paths.dir}; \`outpost serve\` makes one on first start with HTTPS on\n`,
        )
        process.exit(1)
      }
      process.stdout.write(status.ca.pem)
      return
    }
    const lines: string[] = []
    if (status.source === 'operator') {
      lines.push('Certificates supplied by the operator (tls.cert, tls.key, tls.ca); Outpost does not renew them.', '')
      lines.push(...describe('Server', config.tls.cert!, status.server!.info, now, true), '')
      lines.push(...(status.ca ? describe('CA', config.tls.ca!, status.ca.info, now, false) : ['CA       none configured (tls.ca): /ca.crt answers 404']))
    } else {
      lines.push(`Certificates made by Outpost in ${status.paths.dir}`, '')
      if (!status.ca && !status.server) {
        lines.push('None yet: `outpost serve` makes a CA and a server certificate on first start with HTTPS on.')
        process.stdout.write(`${lines.join('\n')}\n`)
        process.exit(1)
      }
      if (status.problem) lines.push(`PROBLEM  ${status.problem}`, '')
      lines.push(...(status.ca ? describe('CA', status.paths.caCert, status.ca.info, now, false) : ['CA       missing']), '')
      lines.push(...(status.server ? describe('Server', status.paths.serverCert, status.server.info, now, true) : ['Server   missing']))
      lines.push(`  status   ${decisionText(status.decision)}`)
    }
    lines.push('', `Nodes trust the CA from ${caUrl(config)} (or: outpost certs --ca > outpost-ca.crt).`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } catch (err) {
    fail(err)
  }
})

addServeOptions(
  certs
    .command('rotate-ca')
    .description('replace the CA and re-issue the server certificate under it (every node must then trust the new CA)'),
).action(async (flags: ServeFlags) => {
  try {
    const config = commandConfig(flags)
    const { material, archived } = await rotateCa(tlsSettingsOf(config))
    const now = new Date()
    const url = caUrl(config)
    const lines = [
      archived
        ? `Made a new CA and a server certificate under it; the previous files are in ${archived}.`
        : 'Made a CA and a server certificate under it (there was no CA before).',
      '',
      ...describe('CA', join(config.data_dir, 'tls', 'ca.crt'), material.caInfo!, now, false),
      '',
      ...describe('Server', join(config.data_dir, 'tls', 'server.crt'), material.server, now, true),
      '',
      'What to do next:',
      '  1. A running outpost keeps serving the old certificate until its next daily check. Switch now:',
      '       systemctl reload outpost        (or: kill -HUP <pid>, or restart it)',
      '  2. Every node must trust the new CA; until it does, it rejects Outpost over HTTPS:',
      `       Debian/Ubuntu: curl -fsSL ${url} -o /usr/local/share/ca-certificates/outpost-ca.crt && update-ca-certificates`,
      `       RHEL family:   curl -fsSL ${url} -o /etc/pki/ca-trust/source/anchors/outpost-ca.crt && update-ca-trust`,
      '       containerd:    write the same file to the `ca = "…"` path in /etc/containerd/certs.d/<registry>/hosts.toml',
      '                      (containerd reads hosts.toml per pull: no restart needed)',
      ...(archived ? ['  3. To go back, stop outpost and move the files from the folder above back into the tls folder.'] : []),
      '',
    ]
    process.stdout.write(lines.join('\n'))
  } catch (err) {
    fail(err)
  }
})
interface VerifyFlags extends ServeFlags {
  repos?: boolean
  full?: boolean
  json?: boolean
}

/** A progress bar on stderr while trees are checked, only when stderr is a terminal. */
const treeProgressBar = (): { update: (p: CheckProgress) => void; stop: () => void } => {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'checking {bar} {value}/{total} files | {tree}', barsize: 30, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    undefined,
  )
  let started = false
  return {
    update: (p) => {
      if (p.phase !== 'check') return
      const tree = p.tree ? `${p.tree.kind} ${p.tree.url}${p.tree.suite ? ` ${p.tree.suite}` : ''}` : ''
      if (!started) {
        bar.start(p.total, p.done, { tree })
        started = true
      } else bar.update(p.done, { tree })
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

addServeOptions(
  program
    .command('verify')
    .description(
      'hash every blob and file and check it against its name (--repos: check the yum and apt trees instead); exit 1 naming every corrupt or missing item',
    ),
)
  .option('--repos', 'check the yum and apt trees under the file roots: every index and package present with its size and checksum')
  .option('--full', 'with --repos: verify every package checksum, not only sizes (reads every package)')
  .option('--json', 'with --repos: print the reports as JSON on stdout')
  .action(async (flags: VerifyFlags) => {
    try {
      const config = commandConfig(flags)
      const layout = buildLayout(config)
      if (flags.repos) {
        let missingRoots = 0
        for (const root of layout.filesRoots) {
          if (!existsSync(root.path)) {
            missingRoots++
            process.stderr.write(`outpost: file root ${root.prefix} = ${root.path} does not exist\n`)
          }
        }
        const bar = treeProgressBar()
        const full = flags.full ?? false
        let reports
        try {
          reports = await checkTrees(layout.filesRoots, { symlinks: layout.filesSymlinks, full, onProgress: bar.update })
        } finally {
          bar.stop()
        }
        if (flags.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n')
        else process.stdout.write(formatReports(reports, { full, roots: layout.filesRoots.map((r) => r.path) }))
        process.exit(reports.some((r) => !r.ok) || missingRoots > 0 ? 1 : 0)
      }
      const dbPath = join(config.data_dir, CATALOG_FILE)
      const db = existsSync(dbPath) ? openDb(config.data_dir) : undefined
      if (db) applySchema(db, CATALOG_SCHEMA)
      const bar = progressBar('verify')
      const report = await verifyContent(layout.stores.uncached, layout.filesRoots, db, (done, total) => bar.update(done, total))
      bar.stop()
      db?.close()
      for (const p of report.problems) process.stdout.write(`${p.kind.toUpperCase()} ${p.path}: ${p.problem}\n`)
      process.stdout.write(
        `verified ${report.blobs} blobs and ${report.files} files (${humanBytes(report.bytes)}): ${report.problems.length ? `${report.problems.length} problem(s)` : 'all good'}\n`,
      )
      process.exit(report.problems.length ? 1 : 0)
    } catch (err) {
      fail(err)
    }
  })

program
  .command('check-config')
  .description('validate config files and exit')
  .argument('<files...>')
  .action((files: string[]) => {
    let bad = 0
    for (const file of files) {
      try {
        checkConfigFile(file)
        process.stdout.write(`${file}: ok\n`)
      } catch (err) {
        bad++
        process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`)
      }
    }
    process.exit(bad ? 1 : 0)
  })

program.parseAsync(process.argv).catch(fail)
