#!/usr/bin/env node
/**
 * outpost serve | demo | verify | check-config | --version
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { SingleBar } from 'cli-progress'
import { loadConfig, ConfigError, checkConfigFile, createLogger, startServer, buildLayout, type RunningServer, type Logger } from './server/index.js'
import { checkTrees, formatReports, type CheckProgress } from './repos/index.js'
import { buildDemoBundle, DEMO_IMAGES } from './demo/index.js'

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
}

const fail = (err: unknown): never => {
  if (err instanceof ConfigError) {
    process.stderr.write(`outpost: invalid configuration\n${err.message}\n`)
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

interface VerifyFlags extends ServeFlags {
  repos?: boolean
  full?: boolean
  json?: boolean
}

/** A progress bar on stderr while trees are checked, only when stderr is a terminal. */
const progressBar = (): { update: (p: CheckProgress) => void; stop: () => void } => {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} }
  const bar = new SingleBar(
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

addServeOptions(program.command('verify').description('check what Outpost would serve and exit non-zero when something is wrong'))
  .option('--repos', 'check the yum and apt trees under the file roots (the default; the only check so far)')
  .option('--full', 'verify every package checksum, not only sizes (reads every package)')
  .option('--json', 'print the reports as JSON on stdout')
  .action(async (flags: VerifyFlags) => {
    try {
      const { config, warnings } = loadConfig({ file: flags.config, flags: flagTree(flags) })
      for (const w of warnings) process.stderr.write(`outpost: ${w}\n`)
      const layout = buildLayout(config)
      let missingRoots = 0
      for (const root of layout.filesRoots) {
        if (!existsSync(root.path)) {
          missingRoots++
          process.stderr.write(`outpost: file root ${root.prefix} = ${root.path} does not exist\n`)
        }
      }
      const bar = progressBar()
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
