/** GET /time, and the time service turning itself off when it cannot bind. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import request from 'supertest'
import { startTestServer, tempDir } from '../helpers/server.js'
import { parseLogLine } from '../helpers/logs.js'
import { createLogger, loadConfig, startServer } from '../../src/server/index.js'

test('GET /time: ms, ISO form, Date header, where SNTP is served', async (t) => {
  const s = await startTestServer({ listen: { ntp: '127.0.0.1:0' } })
  t.after(() => s.close())
  const before = Date.now()
  const res = await request(s.url).get('/time').expect(200)
  const after = Date.now()
  assert.match(res.headers['content-type']!, /^application\/json/)
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.ok(res.body.ms >= before && res.body.ms <= after + 1, `${before} ≤ ${res.body.ms} ≤ ${after}`)
  assert.equal(res.body.iso, new Date(res.body.ms).toISOString())
  assert.equal(Date.parse(res.headers.date!), Math.floor(res.body.ms / 1000) * 1000)
  assert.deepEqual(res.body.ntp, { port: s.running.ntp!.port })
  const head = await request(s.url).head('/time').expect(200)
  assert.ok(head.headers.date)
})

test('GET /time says when time is not served', async (t) => {
  const s = await startTestServer()
  t.after(() => s.close())
  const res = await request(s.url).get('/time').expect(200)
  assert.equal(res.body.ntp, null)
  assert.equal(s.running.ntp, null)
})

test('an SNTP port already taken: a clear log line, and the server carries on', async (t) => {
  const first = await startTestServer({ listen: { ntp: '127.0.0.1:0' } })
  t.after(() => first.close())
  const taken = first.running.ntp!.port
  const dataDir = tempDir('outpost-data-')
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const lines: string[] = []
  const sink = new PassThrough()
  sink.on('data', (c) => lines.push(...String(c).split('\n').filter(Boolean)))
  const { config } = loadConfig({
    env: {},
    noDefaultFile: true,
    flags: { data_dir: dataDir, listen: { http: '127.0.0.1:0', https: 'off', push: 'off', ntp: `127.0.0.1:${taken}` } },
  })
  const running = await startServer(config, createLogger('info', sink))
  t.after(() => running.close(1000))
  assert.equal(running.ntp, null)
  const warn = lines.map(parseLogLine).find((l) => l.level === 'warn' && /SNTP is off/.test(l.msg))
  assert.ok(warn, lines.join('\n'))
  assert.match(warn.msg, new RegExp(`cannot bind UDP 127\\.0\\.0\\.1:${taken} \\(EADDRINUSE\\)`))
  await request(running.listeners[0]!.url).get('/time').expect(200)
})
