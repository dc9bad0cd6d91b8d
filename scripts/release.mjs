#!/usr/bin/env node
// Builds the offline release: one tarball that installs and runs Outpost on a
// machine with no network and no Node.
//   npm run release                       release/outpost-<version>-linux-<arch>.tar.gz (+ .sha256)
//   node scripts/release.mjs [--out-dir DIR] [--rebuild-native]
//
// The tarball holds one folder, outpost-<version>-linux-<arch>/:
//   bin/outpost          sh wrapper: node/bin/node --max-semi-space-size=4 dist/cli/index.js
//   node/bin/node        the Node runtime running this script (its LICENSE beside it)
//   dist/                the compiled code (tsc + scripts/copy-assets.mjs)
//   node_modules/        production dependencies only; native parts built for this platform
//   config/              outpost.service, config.yaml (the default /etc/outpost/config.yaml),
//                        outpost.example.yaml
//   install.sh           packaging/install.sh
//   package.json, VERSION, README.md
//   SHA256SUMS           every other file of the folder
//
// Dependencies come from `npm ci --omit=dev --ignore-scripts` (the npm registry
// or npm's cache). A native addon (better-sqlite3) is taken from this checkout's
// node_modules when it is the same version and loads in this Node, which is the
// Node shipped, else (or with --rebuild-native) compiled in the staging folder
// with `npm rebuild`. Outpost's own addon, outpost-sendfile (native/sendfile:
// zero-copy bodies), is taken the same way from this checkout's build, else
// compiled from native/sendfile; a release without it is not made. Docs,
// tests, type declarations, source maps, native build sources and other
// platforms' prebuilt binaries are left out.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const option = (name) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const outDir = resolve(option('--out-dir') ?? join(ROOT, 'release'))
const rebuildNative = flag('--rebuild-native')

const log = (line) => process.stderr.write(`release: ${line}\n`)
const run = (cmd, argv, opts = {}) => {
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], ...opts })
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status}`)
  return r
}
// npm itself: the one running `npm run release`, else the one on PATH.
const npm = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm']
const npmRun = (npmArgs) => run(npm[0], [...npm.slice(1), ...npmArgs], { cwd: stage })
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0

if (process.platform !== 'linux') throw new Error(`the release is built for Linux, on Linux (this is ${process.platform})`)
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
const name = `outpost-${pkg.version}-linux-${process.arch}`
const work = mkdtempSync(join(tmpdir(), 'outpost-release-'))
const stage = join(work, name)
const started = Date.now()

try {
  mkdirSync(stage, { recursive: true })

  log(`compiling into ${name}/dist`)
  run(process.execPath, [
    join(ROOT, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(ROOT, 'tsconfig.build.json'),
    '--outDir',
    join(stage, 'dist'),
  ])
  run(process.execPath, [join(ROOT, 'scripts/copy-assets.mjs'), join(stage, 'dist')], { cwd: ROOT })
  // Source maps point at src/, which the release does not carry.
  for (const f of walk(join(stage, 'dist'))) if (f.endsWith('.map')) rmSync(f)

  log('installing the production dependencies (npm ci --omit=dev)')
  copyFileSync(join(ROOT, 'package.json'), join(stage, 'package.json'))
  copyFileSync(join(ROOT, 'package-lock.json'), join(stage, 'package-lock.json'))
  npmRun(['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn'])

  const nativePackages = Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && p.hasInstallScript && !p.dev)
    .map(([path]) => path.slice('node_modules/'.length))
  for (const dep of nativePackages) provideNative(dep)
  provideSendfile()

  log('leaving out docs, tests, type declarations, maps and build sources')
  const before = treeSize(join(stage, 'node_modules'))
  prune(join(stage, 'node_modules'))
  log(`node_modules: ${mib(before)} → ${mib(treeSize(join(stage, 'node_modules')))}`)
  for (const dep of nativePackages) checkNative(dep)
  if (!sendfileLoads()) throw new Error('outpost-sendfile no longer loads once pruned')
  checkImports()

  log(`adding the Node runtime (${process.execPath}, ${process.version})`)
  mkdirSync(join(stage, 'node/bin'), { recursive: true })
  const node = join(stage, 'node/bin/node')
  copyFileSync(process.execPath, node)
  chmodSync(node, 0o755)
  if (has('strip')) run('strip', ['--strip-all', node])
  else log('strip is not installed: the Node runtime keeps its symbols (binutils strips it)')
  const nodeLicense = [
    join(dirname(process.execPath), '../LICENSE'),
    '/usr/share/doc/nodejs/LICENSE',
    '/usr/share/doc/nodejs/copyright',
  ].find((p) => existsSync(p))
  if (nodeLicense) copyFileSync(nodeLicense, join(stage, 'node/LICENSE'))

  log('adding bin/outpost, install.sh, the unit and the configs')
  mkdirSync(join(stage, 'bin'))
  copyFileSync(join(ROOT, 'packaging/outpost'), join(stage, 'bin/outpost'))
  copyFileSync(join(ROOT, 'packaging/install.sh'), join(stage, 'install.sh'))
  chmodSync(join(stage, 'bin/outpost'), 0o755)
  chmodSync(join(stage, 'install.sh'), 0o755)
  mkdirSync(join(stage, 'config'))
  for (const f of ['outpost.service', 'config.yaml', 'outpost.example.yaml'])
    copyFileSync(join(ROOT, 'config', f), join(stage, 'config', f))
  copyFileSync(join(ROOT, 'README.md'), join(stage, 'README.md'))
  writeFileSync(join(stage, 'VERSION'), `${pkg.version}\n`)
  // What the code reads at run time (`type`, the version); no scripts, no devDependencies,
  // no link to native/ (the addon is a plain folder in node_modules).
  const { scripts: _s, devDependencies: _d, allowScripts: _a, optionalDependencies: _o, ...runtimePkg } = pkg
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(runtimePkg, null, 2)}\n`)
  rmSync(join(stage, 'package-lock.json'))

  const smoke = spawnSync(join(stage, 'bin/outpost'), ['--version'], { encoding: 'utf8', env: { PATH: '/nonexistent' } })
  if (smoke.status !== 0 || smoke.stdout.trim() !== pkg.version) {
    throw new Error(`bin/outpost --version in the staged release: ${smoke.status} ${smoke.stdout}${smoke.stderr}`)
  }

  const files = normaliseAndList(stage)
  writeFileSync(join(stage, 'SHA256SUMS'), files.map((f) => `${sha256(join(stage, f))}  ${f}\n`).join(''))

  mkdirSync(outDir, { recursive: true })
  const tarball = join(outDir, `${name}.tar.gz`)
  log(`packing ${relative(process.cwd(), tarball).startsWith('..') ? tarball : relative(process.cwd(), tarball)}`)
  const epoch = process.env.SOURCE_DATE_EPOCH ?? commitTime() ?? String(Math.floor(Date.now() / 1000))
  const tmpTar = `${tarball}.tmp`
  run('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    `--mtime=@${epoch}`,
    '--use-compress-program=gzip -n',
    '-C',
    work,
    '-cf',
    tmpTar,
    name,
  ])
  run('mv', ['-f', tmpTar, tarball])
  writeFileSync(`${tarball}.sha256`, `${sha256(tarball)}  ${basename(tarball)}\n`)

  const size = statSync(tarball).size
  log(
    `${basename(tarball)}: ${mib(size)} (${mib(treeSize(stage))} unpacked, ${files.length + 1} files) in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  )
  process.stdout.write(`${tarball}\n`)
} finally {
  rmSync(work, { recursive: true, force: true })
}

/** Puts a native dependency's compiled part in place: this checkout's build when it fits, else a build here. */
function provideNative(dep) {
  const staged = join(stage, 'node_modules', dep)
  const local = join(ROOT, 'node_modules', dep)
  const version = (dir) => {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
    } catch {
      return undefined
    }
  }
  const built = join(local, 'build/Release')
  if (!rebuildNative && version(local) === version(staged) && existsSync(built)) {
    mkdirSync(join(staged, 'build/Release'), { recursive: true })
    for (const f of readdirSync(built).filter((f) => f.endsWith('.node'))) copyFileSync(join(built, f), join(staged, 'build/Release', f))
    if (loads(dep)) {
      log(`${dep} ${version(staged)}: the native part built by this checkout's npm ci, for ${process.version} ${process.arch}`)
      return
    }
    rmSync(join(staged, 'build'), { recursive: true, force: true })
  }
  log(`${dep} ${version(staged)}: building the native part for ${process.version} ${process.arch} (npm rebuild)`)
  npmRun(['rebuild', dep, '--foreground-scripts', '--loglevel=warn'])
  if (!loads(dep)) throw new Error(`${dep} does not load after npm rebuild`)
}

/**
 * Outpost's sendfile addon (native/sendfile, the package outpost-sendfile):
 * npm ci left a link to ../native/sendfile, which the release does not carry;
 * in its place goes a folder with the package's entry point and its compiled
 * addon, this checkout's build when it loads in this Node, else one built now.
 */
function provideSendfile() {
  const src = join(ROOT, 'native/sendfile')
  const staged = join(stage, 'node_modules/outpost-sendfile')
  const addon = 'build/Release/outpost_sendfile.node'
  const meta = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
  rmSync(staged, { recursive: true, force: true })
  mkdirSync(join(staged, 'build/Release'), { recursive: true })
  const { scripts: _s, gypfile: _g, ...runtimeMeta } = meta
  writeFileSync(join(staged, 'package.json'), `${JSON.stringify(runtimeMeta, null, 2)}\n`)
  copyFileSync(join(src, 'index.js'), join(staged, 'index.js'))
  if (!rebuildNative && existsSync(join(src, addon))) {
    copyFileSync(join(src, addon), join(staged, addon))
    if (sendfileLoads()) {
      log(`outpost-sendfile ${meta.version}: the native part built by this checkout's npm ci, for ${process.version} ${process.arch}`)
      return
    }
  }
  log(`outpost-sendfile ${meta.version}: building the native part for ${process.version} ${process.arch} (node-gyp)`)
  const build = join(work, 'sendfile-build')
  rmSync(build, { recursive: true, force: true })
  mkdirSync(join(build, 'src'), { recursive: true })
  for (const f of ['package.json', 'binding.gyp', 'build.js', 'index.js', 'src/sendfile.cc']) copyFileSync(join(src, f), join(build, f))
  run(process.execPath, [join(build, 'build.js')], { cwd: build })
  if (!existsSync(join(build, addon))) {
    const why = existsSync(join(build, 'build-error.log')) ? readFileSync(join(build, 'build-error.log'), 'utf8').trim().slice(-4000) : ''
    throw new Error(`outpost-sendfile could not be built; the release carries it, so none is made:\n${why}`)
  }
  copyFileSync(join(build, addon), join(staged, addon))
  if (!sendfileLoads()) throw new Error('outpost-sendfile does not load after it was built')
}

/** Whether the staged outpost-sendfile loads and reports its engine. */
function sendfileLoads() {
  const probe = `const s = require(${JSON.stringify(join(stage, 'node_modules/outpost-sendfile'))}); if (typeof s.stats().active !== 'number') process.exit(1)`
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0
}

/** Whether a native dependency loads and works in this Node from the staging folder. */
function loads(dep) {
  const probe =
    dep === 'better-sqlite3'
      ? `const D = require(${JSON.stringify(join(stage, 'node_modules', dep))}); new D(':memory:').prepare('select 1').get()`
      : `require(${JSON.stringify(join(stage, 'node_modules', dep))})`
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0
}

function checkNative(dep) {
  if (!loads(dep)) throw new Error(`${dep} no longer loads once pruned`)
}

/** Every production dependency still imports from the staged tree. */
function checkImports() {
  const deps = Object.keys(pkg.dependencies)
  const script = `for (const d of ${JSON.stringify(deps)}) await import(d)`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: stage, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`a dependency does not import from the staged release: ${r.stderr}`)
}

/** Leaves out what nothing runs: docs, tests, types, maps, build sources, other platforms' binaries. */
function prune(modules) {
  rmSync(join(modules, '.bin'), { recursive: true, force: true })
  const packageDirs = readdirSync(modules).flatMap((n) =>
    n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => join(modules, n, m)) : n.startsWith('.') ? [] : [join(modules, n)],
  )
  const rootDirs = ['test', 'tests', '__tests__', 'example', 'examples', 'benchmark', 'benchmarks', 'docs', 'coverage', '.github']
  const dropFile = (f) =>
    /\.(md|markdown|map|ts|mts|cts|tsbuildinfo|bare)$/i.test(f) && !/^licen[cs]e/i.test(f)
      ? true
      : /^(\.npmignore|\.eslintrc.*|\.prettierrc.*|\.editorconfig|\.travis\.yml|\.nycrc.*|tsconfig\.json|CHANGELOG.*|HISTORY.*)$/i.test(f)
  for (const dir of packageDirs) {
    for (const d of rootDirs) rmSync(join(dir, d), { recursive: true, force: true })
    if (existsSync(join(dir, 'binding.gyp'))) {
      // A node-gyp package: keep its compiled addon, not what it was compiled from.
      for (const d of ['deps', 'src']) rmSync(join(dir, d), { recursive: true, force: true })
      rmSync(join(dir, 'binding.gyp'))
      const release = join(dir, 'build/Release')
      const addons = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node') && !f.startsWith('test_')) : []
      const keep = addons.map((f) => [f, readFileSync(join(release, f))])
      rmSync(join(dir, 'build'), { recursive: true, force: true })
      mkdirSync(release, { recursive: true })
      for (const [f, bytes] of keep) writeFileSync(join(release, f), bytes, { mode: 0o755 })
    }
    const prebuilds = join(dir, 'prebuilds')
    if (existsSync(prebuilds)) {
      for (const p of readdirSync(prebuilds))
        if (!p.startsWith(`linux-${process.arch}`)) rmSync(join(prebuilds, p), { recursive: true, force: true })
    }
    for (const f of walk(dir)) if (dropFile(basename(f))) rmSync(f)
  }
}

/** Modes 0755/0644 (0755 for what is executable), no links; returns every file, sorted, relative to `dir`. */
function normaliseAndList(dir) {
  const files = []
  const visit = (d) => {
    chmodSync(d, 0o755)
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isSymbolicLink()) throw new Error(`a link in the release: ${relative(dir, p)}`)
      if (e.isDirectory()) visit(p)
      else {
        chmodSync(p, lstatSync(p).mode & 0o100 ? 0o755 : 0o644)
        files.push(relative(dir, p))
      }
    }
  }
  visit(dir)
  return files.sort()
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? walk(p) : [p]
  })
}

function treeSize(dir) {
  return walk(dir).reduce((n, f) => n + lstatSync(f).size, 0)
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function commitTime() {
  const r = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' })
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined
}
