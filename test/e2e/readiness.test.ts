/**
 * Readiness tells the truth about the disk, against a real `outpost serve`:
 *
 * - data_dir that cannot be written, and a registry's blobs folder that
 *   cannot be read, fail /readyz naming them. Root reads and writes through
 *   any mode, so as root the server runs without CAP_DAC_OVERRIDE and
 *   CAP_DAC_READ_SEARCH (setpriv), where chmod holds again.
 * - a full data_dir (a tiny tmpfs mounted in a private mount namespace):
 *   check-ins fail with a 507 in the check-in's JSON, /readyz names the
 *   cause, and files copied in meanwhile reach the catalog once space
 *   returns. Skipped, saying why, where a mount namespace cannot be made.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, openSync, closeSync, writeSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { buildRegistry2 } from '../helpers/fixtures.js'
import { tempDir } from '../helpers/server.js'
import { startProcess, waitFor, type Spawned } from '../helpers/procs.js'
import { logRecords } from '../helpers/logs.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
const isRoot = process.getuid?.() === 0
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OUTPOST_')))

const writeConfig = (dir: string, lines: string[]): string => {
  const file = join(dir, 'outpost.yaml')
  writeFileSync(file, ['listen: { http: "127.0.0.1:0", https: off, push: off, ntp: off }', 'log_level: info', ...lines, ''].join('\n'))
  return file
}

/** Starts `outpost serve` through `wrap` (a command prefix); resolves with its URL once it listens. */
const serve = async (wrap: string[], config: string): Promise<{ proc: Spawned; url: string }> => {
  const argv = [...wrap, process.execPath, ...CLI, 'serve', '--config', config]
  const proc = startProcess(argv[0]!, argv.slice(1), { env: cleanEnv() })
  await waitFor(
    () => {
      if (proc.child.exitCode !== null) throw new Error(`outpost exited ${proc.child.exitCode}: ${proc.output()}`)
      return logRecords(proc.output()).some((r) => r.msg === 'listening')
    },
    'outpost to listen',
    60_000,
  )
  return { proc, url: logRecords(proc.output()).find((r) => r.msg === 'listening')!.url as string }
}

interface Readiness {
  status: number
  failing: Array<{ name: string; detail?: string }>
}

const readyz = async (url: string): Promise<Readiness> => {
  const res = await request(url).get('/readyz')
  return { status: res.status, failing: res.status === 200 ? [] : (res.body.failing as Readiness['failing']) }
}

const eventually = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Without the capabilities that let root ignore modes, so chmod holds (as for any other user). */
const WITHOUT_DAC = isRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--'] : []
const setprivWorks = (): string | null => {
  if (!isRoot) return null
  const r = spawnSync('setpriv', ['--bounding-set', '-dac_override,-dac_read_search', '--', 'true'])
  return r.status === 0 ? null : `setpriv cannot drop capabilities here (${r.error?.message ?? r.stderr.toString().trim()})`
}

describe('readiness: data_dir not writable, blobs folder not readable', { skip: setprivWorks() ?? false }, () => {
  let dir: string
  let data: string
  let blobs: string
  let proc: Spawned
  let url: string
  before(async () => {
    dir = tempDir('outpost-ready-')
    data = join(dir, 'data')
    await buildRegistry2(join(dir, 'registry'))
    blobs = join(dir, 'registry/docker/registry/v2/blobs')
    ;({ proc, url } = await serve(WITHOUT_DAC, writeConfig(dir, [`data_dir: ${data}`, `registry: { roots: [${join(dir, 'registry')}] }`])))
    await eventually('ready', async () => ((await readyz(url)).status === 200 ? true : undefined))
  })
  after(async () => {
    await proc?.stop()
    if (dir) {
      chmodSync(data, 0o700)
      chmodSync(blobs, 0o755)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('data_dir made read-only: /readyz fails naming it, and is ready again after', async () => {
    chmodSync(data, 0o500)
    try {
      const r = await eventually('data_dir failing', async () => {
        const got = await readyz(url)
        return got.failing.some((f) => f.name === 'data_dir') ? got : undefined
      })
      assert.equal(r.status, 503)
      const check = r.failing.find((f) => f.name === 'data_dir')!
      assert.match(check.detail!, new RegExp(`${data} cannot be written \\(EACCES\\)`))
    } finally {
      chmodSync(data, 0o700)
    }
    await eventually('ready again', async () => ((await readyz(url)).status === 200 ? true : undefined))
  })

  test('a blobs folder made unreadable: /readyz fails naming it, and is ready again after', async () => {
    chmodSync(blobs, 0o000)
    try {
      const r = await readyz(url)
      assert.equal(r.status, 503)
      assert.equal(r.failing.length, 1, JSON.stringify(r.failing))
      assert.match(r.failing[0]!.name, /^store registry2:/)
      assert.equal(r.failing[0]!.detail, `${blobs}: EACCES`)
    } finally {
      chmodSync(blobs, 0o755)
    }
    assert.equal((await readyz(url)).status, 200)
  })
})

/** Why a tmpfs cannot be mounted in a private mount namespace here, or null when it can. */
const namespaceProblem = (): string | null => {
  if (!isRoot) return 'mounting a tmpfs in a private mount namespace needs root'
  const probe = tempDir('outpost-ns-probe-')
  try {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])
    if (r.error) return `unshare is not available (${r.error.message})`
    return r.status === 0 ? null : `cannot mount a tmpfs in a private mount namespace (${r.stderr.toString().trim()})`
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

describe('readiness: a full data_dir', { skip: namespaceProblem() ?? false }, () => {
  let dir: string
  let data: string
  let files: string
  let proc: Spawned
  let url: string
  /** data_dir as the server sees it, inside its mount namespace. */
  const inside = (name: string) => join(`/proc/${proc.child.pid}/root`, data, name)
  before(async () => {
    dir = tempDir('outpost-full-')
    data = join(dir, 'data')
    files = join(dir, 'files')
    mkdirSync(data)
    mkdirSync(files)
    writeFileSync(join(files, 'before.txt'), 'before\n')
    const mountThenServe = [
      'unshare',
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs -o size=6m tmpfs "$0" && exec "$@"',
      data,
    ]
    ;({ proc, url } = await serve(mountThenServe, writeConfig(dir, [`data_dir: ${data}`, `files: { roots: [${files}] }`])))
    await eventually('ready', async () => ((await readyz(url)).status === 200 ? true : undefined))
  })
  after(async () => {
    await proc?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('check-ins fail with 507, /readyz names the cause, files copied meanwhile are listed once space returns', async () => {
    // Fill the tmpfs to the last block.
    const fd = openSync(inside('fill'), 'w')
    const chunk = Buffer.alloc(64 * 1024)
    try {
      for (;;) writeSync(fd, chunk)
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC')
    } finally {
      closeSync(fd)
    }

    // Readiness looks at the disk at most once a second.
    const full = await eventually('data_dir failing', async () => {
      const r = await readyz(url)
      return r.failing.some((f) => f.name === 'data_dir') ? r : undefined
    })
    assert.equal(full.status, 503)
    const dataCheck = full.failing.find((f) => f.name === 'data_dir')
    assert.ok(dataCheck, JSON.stringify(full.failing))
    assert.match(dataCheck.detail!, new RegExp(`${data} is full`))

    // Check-ins until the database can grow no more: the first refusal is a clear 507 in JSON.
    let refused: request.Response | undefined
    for (let i = 0; i < 2000 && !refused; i++) {
      const res = await request(url)
        .post('/nodes/checkin')
        .set('Accept', 'application/json')
        .send({ hostname: `node-${i}`, addresses: [`10.0.${i >> 8}.${i & 255}`], labels: { role: 'worker', note: 'x'.repeat(200) } })
      if (res.status !== 200) refused = res
    }
    assert.ok(refused, 'every check-in was stored on a full data_dir')
    assert.equal(refused.status, 507, refused.text)
    assert.match(refused.headers['content-type'], /application\/json/)
    assert.match(refused.body.error, /no space left/)

    // Files copied in while data_dir is full.
    writeFileSync(join(files, 'during-1.txt'), 'during\n')
    mkdirSync(join(files, 'during'))
    writeFileSync(join(files, 'during/2.txt'), 'during\n')
    await eventually('the catalog behind in /readyz', async () => {
      const r = await readyz(url)
      return r.failing.some((f) => f.name === 'catalog') ? r : undefined
    })

    // Space returns.
    rmSync(inside('fill'))
    await eventually('ready again', async () => ((await readyz(url)).status === 200 ? true : undefined), 20_000)
    const inv = await request(url).get('/inventory').set('Accept', 'application/json')
    assert.equal(inv.body.totals.files, 3, JSON.stringify(inv.body.files))
    const log = logRecords(proc.output())
    assert.ok(log.some((r) => String(r.msg).startsWith('catalog write failed')))
    assert.ok(log.some((r) => String(r.msg).startsWith('catalog caught up')))
  })
})
