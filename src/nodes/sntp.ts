/**
 * SNTP server: the bootstrap node's clock for the cluster, as chrony's
 * `local stratum 10` would serve it (RFC 4330 §5, RFC 5905 server mode).
 *
 * The NTP header, 48 bytes, RFC 5905 §7.3 figure 8:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |LI | VN  |Mode |    Stratum     |     Poll      |  Precision   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Root Delay                            |   NTP short (16.16)
 *   |                         Root Dispersion                       |   NTP short (16.16)
 *   |                          Reference ID                         |
 *   |                     Reference Timestamp (64)                  |   NTP timestamps:
 *   |                      Origin Timestamp (64)                    |   32 bits of seconds
 *   |                      Receive Timestamp (64)                   |   since 1900, 32 bits
 *   |                      Transmit Timestamp (64)                  |   of fraction
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   extension fields and MAC (optional, ignored here)           |
 *
 * Timestamps are kept as the raw 64-bit value (bigint). The seconds wrap
 * every 2^32 s: era 0 ends 2036-02-07T06:28:16Z. Conversion to Unix time
 * picks the era nearest a pivot (now), and differences are taken modulo
 * 2^64 as RFC 5905 §6 prescribes, so offsets stay right across the wrap.
 *
 * The server answers client-mode (3) requests of versions 3 and 4 with the
 * request's version, the client's transmit timestamp as origin, and receive
 * and transmit timestamps from the local clock. Anything else (symmetric,
 * broadcast, control and private modes, short or oddly sized packets) gets
 * no answer, and a client over its rate is dropped silently.
 */
import { createSocket, type Socket } from 'node:dgram'
import { isIPv4 } from 'node:net'
import type { Logger } from 'pino'
import { preciseNow, type Clock } from './clock.js'

export const NTP_HEADER_SIZE = 48
/** Seconds from the NTP prime epoch (1900-01-01T00:00:00Z) to the Unix epoch. */
export const NTP_UNIX_OFFSET_S = 2_208_988_800
const ERA_S = 2 ** 32
const FRACTION = 2 ** 32

export const MODE_SYMMETRIC_ACTIVE = 1
export const MODE_SYMMETRIC_PASSIVE = 2
export const MODE_CLIENT = 3
export const MODE_SERVER = 4
export const MODE_BROADCAST = 5
export const MODE_CONTROL = 6
export const MODE_PRIVATE = 7

export const LEAP_NONE = 0
export const LEAP_UNSYNCHRONIZED = 3

/** Versions answered; the reply carries the request's version (RFC 4330 §5). */
export const SERVED_VERSIONS: readonly number[] = [3, 4]

export interface NtpPacket {
  leap: number
  version: number
  mode: number
  stratum: number
  /** log2 seconds, signed. */
  poll: number
  /** log2 seconds, signed. */
  precision: number
  /** Seconds. */
  rootDelay: number
  /** Seconds. */
  rootDispersion: number
  /** Four bytes. */
  refId: Uint8Array
  reference: bigint
  origin: bigint
  receive: bigint
  transmit: bigint
}

// ---- timestamps -----------------------------------------------------------

/** Unix milliseconds (with a fraction) → 64-bit NTP timestamp, era folded away. */
export const unixMsToNtp = (ms: number): bigint => {
  const wholeS = Math.floor(ms / 1000)
  const fracS = (ms - wholeS * 1000) / 1000
  const seconds = (((wholeS + NTP_UNIX_OFFSET_S) % ERA_S) + ERA_S) % ERA_S
  const fraction = Math.min(FRACTION - 1, Math.floor(fracS * FRACTION))
  return (BigInt(seconds) << 32n) | BigInt(fraction)
}

/** The era (number of 2^32 s wraps since 1900) of a Unix time. */
export const eraOf = (ms: number): number => Math.floor((Math.floor(ms / 1000) + NTP_UNIX_OFFSET_S) / ERA_S)

/**
 * 64-bit NTP timestamp → Unix milliseconds, in the era that puts it nearest
 * `pivotMs` (RFC 5905 §6: a timestamp is unambiguous within 68 years of a
 * known time).
 */
export const ntpToUnixMs = (ts: bigint, pivotMs: number = Date.now()): number => {
  const seconds = Number(ts >> 32n)
  const fraction = Number(ts & 0xffffffffn)
  const pivotNtpS = Math.floor(pivotMs / 1000) + NTP_UNIX_OFFSET_S
  const era = Math.round((pivotNtpS - seconds) / ERA_S)
  return (seconds + era * ERA_S - NTP_UNIX_OFFSET_S) * 1000 + (fraction / FRACTION) * 1000
}

/** a − b in milliseconds, modulo 2^64 (right across an era wrap). */
export const ntpDiffMs = (a: bigint, b: bigint): number => (Number(BigInt.asIntN(64, a - b)) / FRACTION) * 1000

/**
 * Client-side offset and round-trip delay (RFC 5905 §8), in milliseconds:
 * t1 client transmit, t2 server receive, t3 server transmit, t4 client
 * receive. A positive offset means the server is ahead of the client.
 */
export const clockOffset = (t1: bigint, t2: bigint, t3: bigint, t4: bigint): { offsetMs: number; delayMs: number } => ({
  offsetMs: (ntpDiffMs(t2, t1) + ntpDiffMs(t3, t4)) / 2,
  delayMs: ntpDiffMs(t4, t1) - ntpDiffMs(t3, t2),
})

// ---- reference id -----------------------------------------------------------

/** `LOCL` → the ASCII bytes, NUL-padded; `10.0.0.1` → its four octets. */
export const encodeRefId = (refId: string): Uint8Array => {
  const out = new Uint8Array(4)
  if (isIPv4(refId)) {
    refId.split('.').forEach((octet, i) => (out[i] = Number(octet)))
    return out
  }
  if (!/^[\x21-\x7e]{1,4}$/.test(refId)) throw new Error(`reference id "${refId}" is not 1-4 ASCII characters or an IPv4 address`)
  for (let i = 0; i < refId.length; i++) out[i] = refId.charCodeAt(i)
  return out
}

/** Reference id bytes as text: ASCII for stratum 0-1 codes, dotted quad otherwise. */
export const formatRefId = (bytes: Uint8Array, stratum: number): string => {
  const printable = [...bytes].every((b) => b === 0 || (b >= 0x20 && b < 0x7f))
  if (stratum <= 1 || (printable && bytes[0] !== 0)) return String.fromCharCode(...[...bytes].filter((b) => b !== 0))
  return [...bytes].join('.')
}

// ---- packets ----------------------------------------------------------------

const toShort = (seconds: number): number => Math.max(0, Math.min(0xffffffff, Math.round(seconds * 65536)))

export const encodePacket = (p: NtpPacket): Buffer => {
  const buf = Buffer.alloc(NTP_HEADER_SIZE)
  buf[0] = ((p.leap & 0b11) << 6) | ((p.version & 0b111) << 3) | (p.mode & 0b111)
  buf[1] = p.stratum & 0xff
  buf.writeInt8(Math.max(-128, Math.min(127, p.poll)), 2)
  buf.writeInt8(Math.max(-128, Math.min(127, p.precision)), 3)
  buf.writeUInt32BE(toShort(p.rootDelay), 4)
  buf.writeUInt32BE(toShort(p.rootDispersion), 8)
  Buffer.from(p.refId.subarray(0, 4)).copy(buf, 12)
  buf.writeBigUInt64BE(p.reference, 16)
  buf.writeBigUInt64BE(p.origin, 24)
  buf.writeBigUInt64BE(p.receive, 32)
  buf.writeBigUInt64BE(p.transmit, 40)
  return buf
}

/** Decodes the 48-byte header; `undefined` when the buffer is too short. */
export const decodePacket = (buf: Uint8Array): NtpPacket | undefined => {
  if (buf.length < NTP_HEADER_SIZE) return undefined
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  return {
    leap: b[0]! >> 6,
    version: (b[0]! >> 3) & 0b111,
    mode: b[0]! & 0b111,
    stratum: b[1]!,
    poll: b.readInt8(2),
    precision: b.readInt8(3),
    rootDelay: b.readUInt32BE(4) / 65536,
    rootDispersion: b.readUInt32BE(8) / 65536,
    refId: new Uint8Array(b.subarray(12, 16)),
    reference: b.readBigUInt64BE(16),
    origin: b.readBigUInt64BE(24),
    receive: b.readBigUInt64BE(32),
    transmit: b.readBigUInt64BE(40),
  }
}

export type RequestCheck = { ok: true; packet: NtpPacket } | { ok: false; reason: 'short' | 'length' | 'version' | 'mode' }

/**
 * Whether a datagram is a request this server answers: at least a header,
 * a length the header plus whole 32-bit words (extension fields and MACs,
 * RFC 7822), a served version, client mode.
 */
export const checkRequest = (buf: Uint8Array): RequestCheck => {
  const packet = decodePacket(buf)
  if (!packet) return { ok: false, reason: 'short' }
  if ((buf.length - NTP_HEADER_SIZE) % 4 !== 0) return { ok: false, reason: 'length' }
  if (!SERVED_VERSIONS.includes(packet.version)) return { ok: false, reason: 'version' }
  if (packet.mode !== MODE_CLIENT) return { ok: false, reason: 'mode' }
  return { ok: true, packet }
}

export interface ServerIdentity {
  stratum: number
  refId: Uint8Array
  /** log2 seconds; -20 ≈ 1 µs. */
  precision: number
  /** Seconds. */
  rootDelay: number
  /** Seconds. */
  rootDispersion: number
}

/**
 * The server's reply to a client request (RFC 4330 §5): version and poll
 * copied, mode 4, origin = the request's transmit timestamp, bit for bit.
 * The reference timestamp (last clock update) is the receive time: the
 * local clock is its own reference, and clients require reference ≤
 * transmit (chrony's test 7).
 */
export const buildReply = (request: NtpPacket, identity: ServerIdentity, receive: bigint, transmit: bigint): NtpPacket => ({
  leap: LEAP_NONE,
  version: request.version,
  mode: MODE_SERVER,
  stratum: identity.stratum,
  poll: request.poll,
  precision: identity.precision,
  rootDelay: identity.rootDelay,
  rootDispersion: identity.rootDispersion,
  refId: identity.refId,
  reference: receive,
  origin: request.transmit,
  receive,
  transmit,
})

// ---- rate limiting ------------------------------------------------------------

export interface RateLimitOptions {
  /** Requests a client may send at once. */
  burst: number
  /** One more request is allowed every this many milliseconds. */
  intervalMs: number
  /** Clients remembered; the least recently seen are forgotten beyond this. */
  maxClients: number
}

/**
 * chrony's `ratelimit` defaults (interval 8 s, burst 8) assume clients
 * polling every minute or more; nodes starting chronyd with `iburst` send
 * four requests two seconds apart, and `chronyd -Q`/`ntpdate` a few more.
 */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { burst: 16, intervalMs: 1000, maxClients: 65_536 }

/** A token bucket per client address. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT) {}

  get size(): number {
    return this.buckets.size
  }

  allow(client: string, nowMs: number): boolean {
    const { burst, intervalMs, maxClients } = this.options
    const bucket = this.buckets.get(client)
    let tokens = burst
    if (bucket) {
      tokens = Math.min(burst, bucket.tokens + Math.max(0, nowMs - bucket.at) / intervalMs)
      // Re-insert so the Map's order is least recently seen first.
      this.buckets.delete(client)
    }
    const allowed = tokens >= 1
    this.buckets.set(client, { tokens: allowed ? tokens - 1 : tokens, at: nowMs })
    while (this.buckets.size > maxClients) this.buckets.delete(this.buckets.keys().next().value!)
    return allowed
  }

  /** Forgets clients whose bucket has refilled: they are as good as new. */
  sweep(nowMs: number): void {
    const full = this.options.burst * this.options.intervalMs
    for (const [client, b] of this.buckets) if (nowMs - b.at >= full) this.buckets.delete(client)
  }
}

// ---- the UDP server -------------------------------------------------------------

export type PacketOutcome = 'answered' | 'ignored' | 'malformed' | 'rate_limited'

export interface SntpOptions {
  host: string
  port: number
  stratum: number
  /** `LOCL`, `GPS`, or an IPv4 address. */
  refId: string
  rateLimit?: Partial<RateLimitOptions>
  precision?: number
  rootDispersion?: number
  clock?: Clock
  /** Called once per datagram received (metrics). */
  onPacket?: (outcome: PacketOutcome) => void
}

export interface SntpServer {
  host: string
  port: number
  stop(): Promise<void>
}

/** Binds the UDP socket; rejects with the bind error (EACCES, EADDRINUSE…). */
export const startSntp = (options: SntpOptions, logger: Logger): Promise<SntpServer> => {
  const clock = options.clock ?? preciseNow
  const identity: ServerIdentity = {
    stratum: options.stratum,
    refId: encodeRefId(options.refId),
    precision: options.precision ?? -20,
    rootDelay: 0,
    rootDispersion: options.rootDispersion ?? 0.001,
  }
  const limiter = new RateLimiter({ ...DEFAULT_RATE_LIMIT, ...options.rateLimit })
  const log = logger.child({ sub: 'sntp' })
  const socket: Socket = createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false })
  const count = (outcome: PacketOutcome): void => options.onPacket?.(outcome)

  socket.on('message', function onNtpRequest(msg, rinfo) {
    // The receive timestamp first, before any work.
    const receive = unixMsToNtp(clock())
    const check = checkRequest(msg)
    if (!check.ok) {
      count(check.reason === 'mode' || check.reason === 'version' ? 'ignored' : 'malformed')
      log.debug({ remote: rinfo.address, bytes: msg.length, reason: check.reason }, 'ntp packet not answered')
      return
    }
    if (!limiter.allow(rinfo.address, Date.now())) {
      count('rate_limited')
      log.debug({ remote: rinfo.address }, 'ntp client over its rate: dropped')
      return
    }
    const reply = encodePacket(buildReply(check.packet, identity, receive, unixMsToNtp(clock())))
    socket.send(reply, rinfo.port, rinfo.address, (err) => {
      if (err) log.debug({ err, remote: rinfo.address }, 'ntp reply not sent')
    })
    count('answered')
  })

  return new Promise((resolve, reject) => {
    const onBindError = (err: Error): void => {
      socket.close()
      reject(err)
    }
    socket.once('error', onBindError)
    socket.bind(options.port, options.host, () => {
      socket.off('error', onBindError)
      socket.on('error', (err) => log.warn({ err }, 'ntp socket error'))
      const sweep = setInterval(() => limiter.sweep(Date.now()), 60_000)
      sweep.unref()
      const address = socket.address()
      let stopped: Promise<void> | undefined
      resolve({
        host: address.address,
        port: address.port,
        stop: () =>
          (stopped ??= new Promise<void>((done) => {
            clearInterval(sweep)
            socket.close(() => done())
          })),
      })
    })
  })
}

// ---- a minimal client (tests, diagnostics) ---------------------------------------

export interface NtpQueryResult {
  reply: NtpPacket
  offsetMs: number
  delayMs: number
}

/** Sends one client request and waits for the reply. */
export const queryNtp = (
  host: string,
  port: number,
  options: { timeoutMs?: number; version?: number; clock?: Clock } = {},
): Promise<NtpQueryResult> => {
  const clock = options.clock ?? preciseNow
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close()
      reject(new Error(`no NTP reply from ${host}:${port}`))
    }, options.timeoutMs ?? 2000)
    let t1 = 0n
    socket.on('message', (msg) => {
      const t4 = unixMsToNtp(clock())
      const reply = decodePacket(msg)
      if (!reply || reply.origin !== t1) return
      clearTimeout(timer)
      socket.close()
      resolve({ reply, ...clockOffset(t1, reply.receive, reply.transmit, t4) })
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      socket.close()
      reject(err)
    })
    t1 = unixMsToNtp(clock())
    const request = encodePacket({
      leap: LEAP_UNSYNCHRONIZED,
      version: options.version ?? 4,
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
      transmit: t1,
    })
    socket.send(request, port, host)
  })
}
