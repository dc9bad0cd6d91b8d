/**
 * The SNTP responder against real clients: `chronyd -Q` on a high port, and
 * `sntp` (ntpdig, which only asks port 123) inside a private network
 * namespace. Malformed and non-client datagrams get no answer and leave the
 * service answering; clients over their rate are dropped.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { requireTool, run } from '../helpers/procs.js'
import { encodePacket, formatRefId, queryNtp, startSntp, unixMsToNtp, MODE_CLIENT, type NtpPacket } from '../../src/nodes/sntp.js'
import { silentLogger } from '../../src/server/index.js'

const MAX_OFFSET_MS = 100

const clientPacket = (over: Partial<NtpPacket> = {}): Buffer =>
  encodePacket({
    leap: 3,
    version: 4,
    mode: MODE_CLIENT,
    stratum: 0,
    poll: 4,
    precision: -20,
    rootDelay: 0,
    rootDispersion: 0,
    refId: new Uint8Array(4),
    reference: 0n,
    origin: 0n,
    receive: 0n,
    transmit: unixMsToNtp(Date.now()),
    ...over,
  })

/** Sends datagrams from one socket and collects whatever comes back within `waitMs`. */
const exchange = async (port: number, datagrams: Buffer[], waitMs: number, host = '127.0.0.1', from = host): Promise<Buffer[]> => {
  const socket: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  const replies: Buffer[] = []
  socket.on('message', (m) => replies.push(m))
  await new Promise<void>((r) => socket.bind(0, from, () => r()))
  for (const d of datagrams) await new Promise<void>((r, j) => socket.send(d, port, host, (e) => (e ? j(e) : r())))
  await new Promise((r) => setTimeout(r, waitMs))
  socket.close()
  return replies
}

const metric = async (url: string, outcome: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text()
  const m = new RegExp(`^outpost_ntp_packets_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

describe('SNTP responder on a high port', () => {
  let s: TestServer
  let port: number
  before(async () => {
    s = await startTestServer({ listen: { ntp: '127.0.0.1:0' } })
    assert.ok(s.running.ntp, 'SNTP listener started')
    port = s.running.ntp.port
  })
  after(() => s.close())

  test('answers a client request: server mode, stratum 10, LOCL, origin echoed', async () => {
    const r = await queryNtp('127.0.0.1', port)
    assert.equal(r.reply.mode, 4)
    assert.equal(r.reply.version, 4)
    assert.equal(r.reply.leap, 0)
    assert.equal(r.reply.stratum, 10)
    assert.equal(formatRefId(r.reply.refId, r.reply.stratum), 'LOCL')
    assert.ok(Math.abs(r.offsetMs) < MAX_OFFSET_MS, `offset ${r.offsetMs} ms`)
    assert.ok(r.delayMs >= 0 && r.delayMs < 1000, `delay ${r.delayMs} ms`)
    const v3 = await queryNtp('127.0.0.1', port, { version: 3 })
    assert.equal(v3.reply.version, 3)
  })

  test('malformed and non-client datagrams get no answer and do not disturb service', async () => {
    const header = (first: number): Buffer => {
      const b = clientPacket()
      b[0] = first
      return b
    }
    const monlist = Buffer.alloc(48)
    monlist.set([0x17, 0x00, 0x03, 0x2a]) // mode 7 MON_GETLIST_1, the classic amplifier
    const bad = [
      Buffer.alloc(0),
      Buffer.from([0x23]),
      clientPacket().subarray(0, 47),
      Buffer.concat([clientPacket(), Buffer.alloc(3)]), // not whole 32-bit words past the header
      Buffer.from([0x16, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]), // mode 6 (ntpq readvar)
      monlist,
      header(0b00_100_001), // symmetric active
      header(0b00_100_010), // symmetric passive
      header(0b00_100_100), // server
      header(0b00_100_101), // broadcast
      header(0b00_000_011), // version 0
      header(0b00_101_011), // version 5
      header(0b00_010_011), // version 2
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]
    const ignoredBefore = (await metric(s.url, 'ignored')) + (await metric(s.url, 'malformed'))
    const replies = await exchange(port, bad, 500)
    assert.equal(replies.length, 0, `got ${replies.length} replies to bad datagrams`)
    const ignoredAfter = (await metric(s.url, 'ignored')) + (await metric(s.url, 'malformed'))
    assert.equal(ignoredAfter - ignoredBefore, bad.length)
    // Still serving, to the same client and to others.
    const good = await exchange(port, [clientPacket()], 300)
    assert.equal(good.length, 1)
    const r = await queryNtp('127.0.0.1', port)
    assert.ok(Math.abs(r.offsetMs) < MAX_OFFSET_MS)
  })

  test(`chronyd -Q measures an offset under ${MAX_OFFSET_MS} ms`, async () => {
    const chronyd = requireTool('chronyd', 'chrony')
    const r = await run(chronyd, ['-Q', '-f', '/dev/null', '-t', '20', `server 127.0.0.1 port ${port} iburst`], { timeoutMs: 30_000 })
    const out = `${r.stdout}\n${r.stderr}`
    const m = /System clock wrong by (-?[\d.]+) seconds/.exec(out)
    assert.ok(m, `chronyd reported no offset (exit ${r.status}):\n${out}`)
    const offsetMs = Number(m[1]) * 1000
    process.stderr.write(`# chronyd -Q offset: ${offsetMs.toFixed(3)} ms\n`)
    assert.ok(Math.abs(offsetMs) < MAX_OFFSET_MS, `chronyd offset ${offsetMs} ms`)
  })
})

test(`sntp in a private network namespace (port 123) measures an offset under ${MAX_OFFSET_MS} ms`, async () => {
  requireTool('sntp', 'sntp')
  const unshare = requireTool('unshare', 'util-linux')
  requireTool('ip', 'iproute2')
  if (process.getuid && process.getuid() !== 0)
    throw new Error('the sntp end-to-end test makes a network namespace (port 123 is fixed in sntp) and needs root')
  const r = await run(unshare, ['--net', '--', process.execPath, '--import', 'tsx', 'test/helpers/sntp-in-netns.ts', '3'], {
    timeoutMs: 90_000,
  })
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`)
  const runs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { status: number; stdout: string; stderr: string })
  assert.equal(runs.length, 3)
  for (const one of runs) {
    assert.equal(one.status, 0, `sntp failed: ${one.stdout}\n${one.stderr}`)
    const report = JSON.parse(one.stdout) as { offset: number; stratum: number; leap: string }
    process.stderr.write(`# sntp offset: ${(report.offset * 1000).toFixed(3)} ms\n`)
    assert.equal(report.stratum, 10)
    assert.equal(report.leap, 'no-leap')
    assert.ok(Math.abs(report.offset * 1000) < MAX_OFFSET_MS, `sntp offset ${report.offset} s`)
  }
})

test('a client over its rate is dropped; others are still answered', async (t) => {
  const sntp = await startSntp(
    { host: '127.0.0.1', port: 0, stratum: 10, refId: 'LOCL', rateLimit: { burst: 3, intervalMs: 60_000 } },
    silentLogger(),
  )
  t.after(() => sntp.stop())
  const replies = await exchange(sntp.port, [clientPacket(), clientPacket(), clientPacket(), clientPacket(), clientPacket()], 300)
  assert.equal(replies.length, 3)
  // Another address on the loopback network is another client.
  const other = await exchange(sntp.port, [clientPacket()], 300, '127.0.0.1', '127.0.0.2')
  assert.equal(other.length, 1)
})

test('serves IPv6 loopback, with a configured stratum and reference id', async (t) => {
  const sntp = await startSntp({ host: '::1', port: 0, stratum: 3, refId: '10.0.0.1' }, silentLogger())
  t.after(() => sntp.stop())
  const r = await queryNtp('::1', sntp.port)
  assert.equal(r.reply.stratum, 3)
  assert.equal(formatRefId(r.reply.refId, 3), '10.0.0.1')
  assert.ok(Math.abs(r.offsetMs) < MAX_OFFSET_MS)
})
