/** NTP packets and timestamps: encoding, eras, header bits, offset maths, rate limits. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  NTP_UNIX_OFFSET_S,
  buildReply,
  checkRequest,
  clockOffset,
  decodePacket,
  encodePacket,
  encodeRefId,
  eraOf,
  formatRefId,
  ntpDiffMs,
  ntpToUnixMs,
  unixMsToNtp,
  RateLimiter,
  MODE_CLIENT,
  MODE_SERVER,
  type NtpPacket,
} from '../../src/nodes/sntp.js'

/** 2036-02-07T06:28:16Z: NTP era 1 begins, the 32-bit seconds wrap to 0. */
const ERA1_MS = (2 ** 32 - NTP_UNIX_OFFSET_S) * 1000

const ts = (seconds: number, fraction: number): bigint => (BigInt(seconds) << 32n) | BigInt(fraction)

const request = (over: Partial<NtpPacket> = {}): NtpPacket => ({
  leap: 3,
  version: 4,
  mode: MODE_CLIENT,
  stratum: 0,
  poll: 6,
  precision: -20,
  rootDelay: 0,
  rootDispersion: 0,
  refId: new Uint8Array(4),
  reference: 0n,
  origin: 0n,
  receive: 0n,
  transmit: 0xe9b3_5a00_1234_5678n,
  ...over,
})

test('Unix ms → NTP timestamp: epoch offset and fraction', () => {
  assert.equal(unixMsToNtp(0), ts(NTP_UNIX_OFFSET_S, 0))
  // 2024-01-01T00:00:00.500Z
  assert.equal(unixMsToNtp(Date.UTC(2024, 0, 1) + 500), ts(3_913_056_000, 0x8000_0000))
  assert.equal(unixMsToNtp(250), ts(NTP_UNIX_OFFSET_S, 0x4000_0000))
  // Sub-millisecond fractions survive: 0.001 ms is 4294.97 units of 2^-32 s.
  assert.equal(unixMsToNtp(0.001) & 0xffff_ffffn, 4294n)
})

test('era 1 starts in 2036 with seconds at 0', () => {
  assert.equal(new Date(ERA1_MS).toISOString(), '2036-02-07T06:28:16.000Z')
  assert.equal(eraOf(ERA1_MS - 1), 0)
  assert.equal(eraOf(ERA1_MS), 1)
  assert.equal(unixMsToNtp(ERA1_MS), 0n)
  assert.equal(unixMsToNtp(ERA1_MS - 1000), ts(2 ** 32 - 1, 0))
  assert.equal(unixMsToNtp(ERA1_MS + 1500), ts(1, 0x8000_0000))
})

test('NTP timestamp → Unix ms picks the era nearest the pivot', () => {
  // Seconds 0 is 1900 in era 0 and 2036 in era 1.
  assert.equal(ntpToUnixMs(0n, Date.UTC(1950, 0, 1)), -NTP_UNIX_OFFSET_S * 1000)
  assert.equal(ntpToUnixMs(0n, Date.UTC(2030, 0, 1)), ERA1_MS)
  assert.equal(ntpToUnixMs(0n, Date.UTC(2040, 0, 1)), ERA1_MS)
  // Late era-0 seconds read in 2036 (after the wrap) stay in era 0.
  assert.equal(ntpToUnixMs(ts(2 ** 32 - 10, 0), ERA1_MS + 5000), ERA1_MS - 10_000)
  for (const ms of [Date.UTC(2000, 0, 1), Date.UTC(2025, 10, 23, 12, 34, 56, 789), ERA1_MS + 123, Date.UTC(2100, 5, 1)]) {
    const back = ntpToUnixMs(unixMsToNtp(ms + 0.25), ms)
    assert.ok(Math.abs(back - (ms + 0.25)) < 0.001, `${new Date(ms).toISOString()}: ${back} vs ${ms + 0.25}`)
  }
})

test('timestamp differences are taken modulo 2^64, right across the era wrap', () => {
  assert.equal(ntpDiffMs(unixMsToNtp(ERA1_MS + 1000), unixMsToNtp(ERA1_MS - 1000)), 2000)
  assert.equal(ntpDiffMs(unixMsToNtp(ERA1_MS - 1000), unixMsToNtp(ERA1_MS + 1000)), -2000)
  assert.equal(ntpDiffMs(unixMsToNtp(1500), unixMsToNtp(1000)), 500)
})

test('offset and delay (RFC 5905 §8)', () => {
  // The client is 1000 ms behind the server; 10 ms each way, 1 ms in the server.
  const c = Date.UTC(2025, 0, 1)
  const t1 = unixMsToNtp(c)
  const t2 = unixMsToNtp(c + 1000 + 10)
  const t3 = unixMsToNtp(c + 1000 + 11)
  const t4 = unixMsToNtp(c + 21)
  const { offsetMs, delayMs } = clockOffset(t1, t2, t3, t4)
  // Timestamps resolve 2^-32 s (0.23 ns): compare to a nanosecond.
  assert.ok(Math.abs(offsetMs - 1000) < 1e-6, String(offsetMs))
  assert.ok(Math.abs(delayMs - 20) < 1e-6, String(delayMs))
  // An asymmetric path (18 ms out, 2 ms back) shifts the offset by half the asymmetry, never the delay.
  const skew = clockOffset(t1, unixMsToNtp(c + 1000 + 18), unixMsToNtp(c + 1000 + 19), t4)
  assert.ok(Math.abs(skew.offsetMs - 1008) < 1e-6 && Math.abs(skew.delayMs - 20) < 1e-6, JSON.stringify(skew))
  // Across the era wrap.
  const w = clockOffset(unixMsToNtp(ERA1_MS - 5), unixMsToNtp(ERA1_MS + 5), unixMsToNtp(ERA1_MS + 6), unixMsToNtp(ERA1_MS + 6))
  assert.ok(Math.abs(w.offsetMs - 5) < 1e-6 && Math.abs(w.delayMs - 10) < 1e-6, JSON.stringify(w))
})

test('header bits: leap, version, mode', () => {
  const buf = encodePacket(request())
  assert.equal(buf.length, 48)
  assert.equal(buf[0], 0b11_100_011) // LI 3 (unsynchronised), VN 4, mode 3
  const reply = encodePacket(buildReply(request({ version: 3 }), identity, 1n, 2n))
  assert.equal(reply[0], 0b00_011_100) // LI 0, VN 3, mode 4
  for (const [leap, version, mode] of [
    [0, 1, 0],
    [1, 2, 7],
    [2, 7, 5],
  ] as const) {
    const p = decodePacket(encodePacket(request({ leap, version, mode })))!
    assert.deepEqual([p.leap, p.version, p.mode], [leap, version, mode])
  }
})

const identity = { stratum: 10, refId: encodeRefId('LOCL'), precision: -20, rootDelay: 0, rootDispersion: 0.001 }

test('encode/decode round trip, every field at its offset', () => {
  const p = request({
    poll: -3,
    precision: -29,
    rootDelay: 0.5,
    rootDispersion: 1.25,
    stratum: 2,
    refId: encodeRefId('10.1.2.3'),
    reference: 1n,
    origin: 2n,
    receive: 3n,
  })
  const buf = encodePacket(p)
  assert.equal(buf.readInt8(2), -3)
  assert.equal(buf.readInt8(3), -29)
  assert.equal(buf.readUInt32BE(4), 0x0000_8000)
  assert.equal(buf.readUInt32BE(8), 0x0001_4000)
  assert.deepEqual([...buf.subarray(12, 16)], [10, 1, 2, 3])
  assert.equal(buf.readBigUInt64BE(40), p.transmit)
  assert.deepEqual(decodePacket(buf), p)
  // Trailing extension fields or a MAC are ignored by the decoder.
  assert.deepEqual(decodePacket(Buffer.concat([buf, Buffer.alloc(20)])), p)
})

test('which datagrams are answered', () => {
  const ok = encodePacket(request())
  assert.equal(checkRequest(ok).ok, true)
  assert.equal(checkRequest(encodePacket(request({ version: 3 }))).ok, true)
  assert.deepEqual(checkRequest(ok.subarray(0, 47)), { ok: false, reason: 'short' })
  assert.deepEqual(checkRequest(Buffer.alloc(0)), { ok: false, reason: 'short' })
  assert.deepEqual(checkRequest(Buffer.concat([ok, Buffer.alloc(1)])), { ok: false, reason: 'length' })
  // A key id + SHA-1 MAC (4 + 20 bytes) keeps the request answerable.
  assert.equal(checkRequest(Buffer.concat([ok, Buffer.alloc(24)])).ok, true)
  for (const version of [0, 1, 2, 5, 7])
    assert.deepEqual(checkRequest(encodePacket(request({ version }))), { ok: false, reason: 'version' })
  for (const mode of [0, 1, 2, 4, 5, 6, 7]) assert.deepEqual(checkRequest(encodePacket(request({ mode }))), { ok: false, reason: 'mode' })
})

test('the reply copies version, poll and the transmit timestamp as origin', () => {
  const req = request({ version: 3, poll: 10 })
  const receive = unixMsToNtp(Date.UTC(2025, 0, 1))
  const transmit = unixMsToNtp(Date.UTC(2025, 0, 1) + 0.05)
  const reply = decodePacket(encodePacket(buildReply(req, identity, receive, transmit)))!
  assert.equal(reply.version, 3)
  assert.equal(reply.mode, MODE_SERVER)
  assert.equal(reply.leap, 0)
  assert.equal(reply.poll, 10)
  assert.equal(reply.stratum, 10)
  assert.equal(formatRefId(reply.refId, reply.stratum), 'LOCL')
  assert.equal(reply.origin, req.transmit)
  assert.equal(reply.receive, receive)
  assert.equal(reply.transmit, transmit)
  assert.ok(reply.reference <= reply.transmit)
  assert.equal(reply.precision, -20)
  assert.equal(Math.round(reply.rootDispersion * 65536), Math.round(0.001 * 65536))
})

test('reference ids', () => {
  assert.deepEqual([...encodeRefId('LOCL')], [0x4c, 0x4f, 0x43, 0x4c])
  assert.deepEqual([...encodeRefId('GPS')], [0x47, 0x50, 0x53, 0])
  assert.deepEqual([...encodeRefId('192.168.0.1')], [192, 168, 0, 1])
  assert.equal(formatRefId(encodeRefId('GPS'), 1), 'GPS')
  assert.equal(formatRefId(encodeRefId('192.168.0.1'), 3), '192.168.0.1')
  assert.throws(() => encodeRefId('TOOLONG'), /1-4 ASCII/)
  assert.throws(() => encodeRefId(''), /1-4 ASCII/)
})

test('rate limiter: a burst, then one per interval, per client', () => {
  const rl = new RateLimiter({ burst: 2, intervalMs: 1000, maxClients: 3 })
  assert.equal(rl.allow('a', 0), true)
  assert.equal(rl.allow('a', 0), true)
  assert.equal(rl.allow('a', 10), false)
  assert.equal(rl.allow('b', 10), true)
  assert.equal(rl.allow('a', 999), false)
  // Refilled to the burst, no further.
  assert.equal(rl.allow('a', 2100), true)
  assert.equal(rl.allow('a', 2100), true)
  assert.equal(rl.allow('a', 2100), false)
  // Dropped requests do not earn tokens.
  assert.equal(rl.allow('a', 2200), false)
  // The least recently seen are forgotten beyond maxClients.
  rl.allow('c', 3000)
  rl.allow('d', 3000)
  assert.equal(rl.size, 3)
  rl.sweep(3000 + 2000)
  assert.equal(rl.size, 0)
})
