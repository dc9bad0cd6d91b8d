/**
 * `outpost import` as an operator runs it: archives and folders made by
 * real skopeo (docker-archive:, oci-archive:, oci:, dir:) from an OCI
 * layout the test writes are imported into the push root under `--data-dir`,
 * with no server running and then beside a running one; a second run and a
 * dry run write nothing; a truncated archive is one line naming file and
 * entry and leaves the tree as it was; containerd then pulls every image
 * through Outpost, digests compared with the lines import printed.
 * containerd needs root.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { OciLayoutWriter, OCI_INDEX } from '../../src/images/index.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, run, runOk, waitFor, type RunResult } from '../helpers/procs.js'
import { startContainerd, type Containerd } from '../helpers/containerd.js'
import { checkTree } from '../helpers/push.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

/** Every file of the push root (the work folder aside) with size and mtime: equal snapshots, nothing written. */
const snapshot = (root: string): Map<string, string> => {
  const out = new Map<string, string>()
  if (!existsSync(root)) return out
  for (const rel of readdirSync(root, { recursive: true }) as string[]) {
    if (rel.startsWith('.outpost-work')) continue
    const st = statSync(join(root, rel))
    out.set(rel, st.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs}`)
  }
  return out
}

/** `NAME:TAG DIGEST` lines as a map. */
const linesOf = (stdout: string): Map<string, string> =>
  new Map(
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [ref, digest] = l.split(' ')
        return [ref!, digest!]
      }),
  )

describe('outpost import: skopeo-made archives into the push root, then pulled by containerd', () => {
  let dir: string
  let skopeo: string
  let amd64: ImageParts
  let arm64: ImageParts
  let index: Blob
  let server: TestServer | undefined
  let ctd: Containerd | undefined
  const policy = ['--insecure-policy']
  const dataDir = () => join(dir, 'data')
  const pushRoot = () => join(dataDir(), 'registry')
  const out = (name: string) => join(dir, 'out', name)
  const copy = (args: string[]) => runOk(skopeo, [...policy, 'copy', '--quiet', ...args])
  /** Runs `outpost import … --data-dir D` with no OUTPOST_ variables of the caller's. */
  const outpostImport = (args: string[]): Promise<RunResult> => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OUTPOST_')))
    return run(process.execPath, [...CLI, 'import', '--data-dir', dataDir(), ...args], { env })
  }
  const importOk = async (args: string[]): Promise<Map<string, string>> => {
    const r = await outpostImport(args)
    assert.equal(r.status, 0, `outpost import ${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stderr, '', 'nothing on stderr when it is not a terminal')
    return linesOf(r.stdout)
  }
  /** Where the archives are, and the digests import printed for each reference. */
  const printed = new Map<string, string>()

  before(async () => {
    skopeo = requireTool('skopeo', 'skopeo')
    dir = tempDir('outpost-e2e-import-cli-')
    amd64 = await makeImage({
      architecture: 'amd64',
      format: 'oci',
      files: { 'etc/arch': 'amd64\n', 'bin/tool': Buffer.alloc(400_000, 5) },
    })
    arm64 = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'etc/arch': 'arm64\n' } })
    index = makeIndex([
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ])
    const layout = join(dir, 'layout')
    const writer = new OciLayoutWriter(layout)
    writer.putImage(amd64)
    writer.putImage(arm64)
    writer.addEntry(index, OCI_INDEX, 'multi')
    writer.addEntry(amd64.manifest, amd64.mediaType, 'single')
    mkdirSync(join(dir, 'out'))
    // A docker save-like archive carrying two names; an oci-archive and an OCI layout of the index; a dir: copy made Docker schema2.
    await copy([
      '--additional-tag',
      'busybox:1.36',
      `oci:${layout}:single`,
      `docker-archive:${out('single.tar')}:example.com/tools/single:1.0`,
    ])
    await copy(['--all', `oci:${layout}:multi`, `oci-archive:${out('multi.tar')}:multi`])
    await copy(['--all', `oci:${layout}:multi`, `oci:${out('oci')}:2.0`])
    await copy(['--format', 'v2s2', `oci:${layout}:single`, `dir:${out('dir')}`])
  })

  after(async () => {
    await ctd?.stop()
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('imports an oci-archive with no server running: its line, a consistent tree', async () => {
    const lines = await importOk([out('multi.tar'), '--name', 'library/multi'])
    assert.deepEqual([...lines], [['library/multi:multi', index.digest]])
    assert.ok(existsSync(join(pushRoot(), 'docker/registry/v2/repositories/library/multi/_manifests/tags/multi/current/link')))
    assert.deepEqual(checkTree(pushRoot()), [])
  })

  test('names as the archive gives them; a second run writes nothing and prints the same lines', async () => {
    const first = await importOk([out('single.tar')])
    assert.deepEqual([...first.keys()], ['example.com/tools/single:1.0', 'library/busybox:1.36'])
    const made = first.get('library/busybox:1.36')!
    assert.match(made, /^sha256:[0-9a-f]{64}$/)
    assert.equal(first.get('example.com/tools/single:1.0'), made)
    const tree = snapshot(pushRoot())
    const second = await importOk([out('single.tar')])
    assert.deepEqual([...second], [...first])
    assert.deepEqual(snapshot(pushRoot()), tree)
    for (const [ref, digest] of first) printed.set(ref, digest)
    printed.set('library/multi:multi', index.digest)
  })

  test('--dry-run prints the lines an import would and writes nothing', async () => {
    const tree = snapshot(pushRoot())
    const dry = await importOk(['--dry-run', out('oci'), '--name', 'library/hello'])
    assert.deepEqual([...dry], [['library/hello:2.0', index.digest]])
    const dryDir = await importOk(['--dry-run', out('dir'), '--name', 'library/pause', '--tag', '3.10'])
    assert.deepEqual([...dryDir], [['library/pause:3.10', sha256(readFileSync(join(out('dir'), 'manifest.json')))]])
    assert.deepEqual(snapshot(pushRoot()), tree)
  })

  test('a truncated archive: one line naming file and entry, exit 1, the tree unchanged', async () => {
    const whole = readFileSync(out('multi.tar'))
    const cut = out('cut.tar')
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)))
    const tree = snapshot(pushRoot())
    const r = await outpostImport([out('dir'), cut, '--name', 'library/cut'])
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    const lines = r.stderr.split('\n').filter(Boolean)
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0]!, new RegExp(`^outpost import: ${cut.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\S+: truncated`))
    assert.deepEqual(snapshot(pushRoot()), tree)
    // A missing name is refused the same way, before anything is written.
    const unnamed = await outpostImport([out('dir')])
    assert.equal(unnamed.status, 1)
    assert.match(unnamed.stderr, /^outpost import: .*\/dir: .*give --name REPO --tag TAG\n$/)
    assert.deepEqual(snapshot(pushRoot()), tree)
  })

  test('a configuration error exits 2 as for every command', async () => {
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'registry:\n  push_rooot: /x\n')
    const r = await outpostImport(['--config', bad, out('dir')])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /registry: unknown key\(s\) "push_rooot"/)
    // A push root that is also a read-only root is refused as `serve` refuses it.
    const clash = join(dir, 'clash.yaml')
    writeFileSync(clash, `registry:\n  roots: [${join(dir, 'ro')}]\n  push_root: ${join(dir, 'ro')}\n`)
    const c = await outpostImport(['--config', clash, out('dir')])
    assert.equal(c.status, 2)
    assert.match(c.stderr, /registry\.push_root: .* is also a registry root/)
    assert.equal(existsSync(join(dir, 'ro')), false)
  })

  test('beside a running server: what import writes is served within the cache lifetime', async () => {
    server = await startTestServer({ data_dir: dataDir() })
    // Asked before the import: the server remembers the miss for a moment (lookups are cached for 1 s).
    assert.equal((await fetch(`${server.url}/v2/library/hello/manifests/2.0`)).status, 404)
    const lines = await importOk([out('oci'), '--name', 'library/hello'])
    assert.deepEqual([...lines], [['library/hello:2.0', index.digest]])
    const dirLines = await importOk([out('dir'), '--name', 'library/pause', '--tag', '3.10'])
    const done = Date.now()
    await waitFor(
      async () => (await fetch(`${server!.url}/v2/library/hello/manifests/2.0`, { method: 'HEAD' })).status === 200,
      'the imported tag to be served',
      5000,
    )
    assert.ok(Date.now() - done < 2000, `served ${Date.now() - done} ms after the import ended`)
    const head = await fetch(`${server.url}/v2/library/hello/manifests/2.0`, { method: 'HEAD', headers: { accept: OCI_INDEX } })
    assert.equal(head.headers.get('docker-content-digest'), index.digest)
    for (const [ref, digest] of [...lines, ...dirLines]) printed.set(ref, digest)
    assert.deepEqual(checkTree(pushRoot()), [])
  })

  test('containerd pulls every imported image through Outpost with the digests import printed', async () => {
    ctd = await startContainerd(join(dir, 'containerd'))
    ctd.mirror('docker.io', server!.url)
    const refs = ['library/busybox:1.36', 'library/multi:multi', 'library/hello:2.0', 'library/pause:3.10']
    for (const ref of refs) await ctd.pull(`docker.io/${ref}`)
    const ls = (await ctd.ctr(['images', 'ls'])).stdout.split('\n')
    for (const ref of refs) {
      const row = ls.find((l) => l.startsWith(`docker.io/${ref} `))
      assert.ok(row, `${ref} in\n${ls.join('\n')}`)
      assert.ok(row.includes(printed.get(ref)!), `${ref}: ${row} has ${printed.get(ref)}`)
    }
    const check = (await ctd.ctr(['images', 'check'])).stdout
    for (const ref of refs) assert.match(check, new RegExp(`docker\\.io/${ref.replace('.', '\\.')}\\s+\\S+\\s+\\S+\\s+complete`), check)
    // A name that keeps its registry host is found when the client names it in the path.
    const port = new URL(server!.url).port
    await ctd.ctr(['images', 'pull', '--plain-http', '--snapshotter', 'native', `127.0.0.1:${port}/example.com/tools/single:1.0`])
    const row = (await ctd.ctr(['images', 'ls'])).stdout
      .split('\n')
      .find((l) => l.startsWith(`127.0.0.1:${port}/example.com/tools/single:1.0 `))
    assert.ok(row?.includes(printed.get('example.com/tools/single:1.0')!), row)
  })
})
