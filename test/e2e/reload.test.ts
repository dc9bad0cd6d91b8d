/**
 * The real `outpost serve` process as systemd runs it (stdout and stderr
 * piped, so JSON lines led by their syslog priority): `kill -HUP` after the
 * config file gained a files root and log_level debug, while a large
 * download is held open half-read. The new root serves, debug lines
 * appear, the download completes intact; a listener change is then refused
 * and named. Also the pretty lines and the start-up error in both formats.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import http from 'node:http'
import { tempDir } from '../helpers/server.js'
import { run, startProcess, waitFor, type Spawned } from '../helpers/procs.js'
import { logRecords, parseLogLine } from '../helpers/logs.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
const BIG = 48 * 1024 * 1024

/** The environment without OUTPOST_* settings, so the machine's own cannot leak in. */
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OUTPOST_')))

const get = (url: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      .on('error', reject)
  })

/** A download whose reading waits for `resume()`: the server's writes stall on a full socket meanwhile. */
const heldDownload = (url: string) => {
  let resume = (): void => undefined
  let firstBytes = (): void => undefined
  const started = new Promise<void>((r) => (firstBytes = r))
  const done = new Promise<{ status: number; bytes: number; sha256: string }>((resolve, reject) => {
    http
      .get(url, (res) => {
        const hash = createHash('sha256')
        let bytes = 0
        res.once('data', () => {
          res.pause()
          firstBytes()
        })
        res.on('data', (c: Buffer) => {
          hash.update(c)
          bytes += c.length
        })
        res.on('end', () => resolve({ status: res.statusCode!, bytes, sha256: hash.digest('hex') }))
        res.on('error', reject)
        resume = () => res.resume()
      })
      .on('error', reject)
  })
  return { started, done, resume: () => resume() }
}

describe('SIGHUP reload of a running outpost serve, with a download in flight', () => {
  let dir: string
  let configFile: string
  let proc: Spawned
  let url: string
  let bigSha: string
  const config = (lines: string[]) =>
    writeFileSync(
      configFile,
      [`data_dir: ${join(dir, 'data')}`, 'listen: { http: "127.0.0.1:0", https: off, push: off, ntp: off }', ...lines, ''].join('\n'),
    )
  const records = () => logRecords(proc.output())

  before(async () => {
    dir = tempDir()
    mkdirSync(join(dir, 'big'))
    mkdirSync(join(dir, 'new'))
    const big = randomBytes(BIG)
    bigSha = createHash('sha256').update(big).digest('hex')
    writeFileSync(join(dir, 'big', 'blob.bin'), big)
    writeFileSync(join(dir, 'new', 'hello.txt'), 'hello from a new root\n')
    configFile = join(dir, 'outpost.yaml')
    config(['log_level: info', 'files:', `  roots: ["/big=${join(dir, 'big')}"]`])
    proc = startProcess(process.execPath, [...CLI, 'serve', '--config', configFile], { env: cleanEnv() })
    await waitFor(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`outpost exited ${proc.child.exitCode}: ${proc.output()}`)
        return records().some((r) => r.msg === 'listening')
      },
      'outpost to listen',
      30_000,
    )
    url = records().find((r) => r.msg === 'listening')!.url
  })
  after(async () => {
    await proc?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a new root and log_level debug apply; the download in flight completes intact', async () => {
    // Every line, of every level so far, is JSON led by its priority.
    const lines = proc.output().split('\n').filter(Boolean)
    for (const l of lines) parseLogLine(l)
    assert.equal((await get(`${url}/new/hello.txt`)).status, 404)

    const download = heldDownload(`${url}/big/blob.bin`)
    await download.started
    config(['log_level: debug', 'files:', `  roots: ["/big=${join(dir, 'big')}", "/new=${join(dir, 'new')}"]`])
    process.kill(proc.child.pid!, 'SIGHUP')
    await waitFor(() => records().some((r) => r.msg === 'configuration reloaded'), `the reload: ${proc.output()}`)
    const reloaded = records().find((r) => r.msg === 'configuration reloaded')!
    assert.deepEqual(reloaded.changed, ['log_level', 'files.roots'])
    assert.ok(records().some((r) => r.msg === 'file root added' && r.prefix === '/new'))

    assert.deepEqual(await get(`${url}/new/hello.txt`), { status: 200, body: 'hello from a new root\n' })
    await get(`${url}/v2/nowhere/manifests/1.0`)
    await waitFor(() => proc.output().includes('"msg":"repository not found"'), 'a debug line')
    const debugLine = proc
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"repository not found"'))!
    assert.ok(debugLine.startsWith('<7>{"level":"debug"'), debugLine)

    // The download was held half-read across the reload: it must now finish whole.
    download.resume()
    assert.deepEqual(await download.done, { status: 200, bytes: BIG, sha256: bigSha })
    await waitFor(() => records().some((r) => r.sub === 'access' && r.path === '/big/blob.bin'), 'the access line of the download')
    const access = records().find((r) => r.sub === 'access' && r.path === '/big/blob.bin')!
    assert.equal(access.status, 200)
    assert.equal(access.bytes, BIG)
    assert.equal(access.aborted, undefined)
  })

  test('a listener change is refused at priority err, naming the key; the server keeps serving', async () => {
    writeFileSync(
      configFile,
      [
        `data_dir: ${join(dir, 'data')}`,
        'listen: { http: "127.0.0.1:1", https: off, push: off, ntp: off }',
        'log_level: debug',
        'files:',
        `  roots: ["/big=${join(dir, 'big')}", "/new=${join(dir, 'new')}"]`,
        '',
      ].join('\n'),
    )
    process.kill(proc.child.pid!, 'SIGHUP')
    await waitFor(() => proc.output().includes('configuration not reloaded'), 'the refusal')
    const line = proc
      .output()
      .split('\n')
      .find((l) => l.includes('configuration not reloaded'))!
    assert.ok(line.startsWith('<3>{"level":"error"'), line)
    assert.match(
      parseLogLine(line).msg,
      /listen\.http changed from 127\.0\.0\.1:0 to 127\.0\.0\.1:1: a listener address change needs a restart \(systemctl restart outpost\)/,
    )
    assert.equal((await get(`${url}/new/hello.txt`)).status, 200)
    assert.equal(proc.child.exitCode, null)
  })
})

describe('log formats of a spawned outpost serve', () => {
  let dir: string
  before(() => {
    dir = tempDir()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('--log-format pretty: short lines for people, no JSON', async () => {
    const proc = startProcess(
      process.execPath,
      [
        ...CLI,
        'serve',
        '--config',
        '/dev/null',
        '--data-dir',
        join(dir, 'data'),
        '--http',
        '127.0.0.1:0',
        '--https',
        'off',
        '--push',
        'off',
        '--ntp',
        'off',
        '--log-format',
        'pretty',
      ],
      { env: cleanEnv() },
    )
    try {
      await waitFor(() => / INFO {2}listening /.test(proc.output()), `pretty lines: ${proc.output()}`, 30_000)
      const listening = proc
        .output()
        .split('\n')
        .find((l) => l.includes(' listening '))!
      assert.match(
        listening,
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening listener=http url=http:\/\/127\.0\.0\.1:\d+ writes="none \(read-only\)"$/,
      )
      assert.doesNotMatch(proc.output(), /\{"level"|^<\d>/m)
    } finally {
      await proc.stop()
    }
  })

  test('a start-up error: a JSON record at priority err off a terminal, the plain text in pretty', async () => {
    const missing = join(dir, 'missing.yaml')
    const piped = await run(process.execPath, [...CLI, 'serve', '--config', missing], { env: cleanEnv() })
    assert.equal(piped.status, 2)
    // Every line is a JSON record at priority err; together they read as the pretty text.
    const records = piped.stderr.split('\n').filter(Boolean).map(parseLogLine)
    assert.ok(records.length >= 1, piped.stderr)
    for (const record of records) assert.equal(record.level, 'error', piped.stderr)
    assert.match(records.map((r) => r.msg).join('\n'), new RegExp(`^outpost: invalid configuration\\n${missing}: cannot read config file`))

    const pretty = await run(process.execPath, [...CLI, 'serve', '--config', missing], {
      env: { ...cleanEnv(), OUTPOST_LOG_FORMAT: 'pretty' },
    })
    assert.equal(pretty.status, 2)
    assert.match(pretty.stderr, new RegExp(`^outpost: invalid configuration\\n${missing}: cannot read config file`))
  })
})
