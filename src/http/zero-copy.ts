/**
 * Zero-copy bodies: a large file body on a plain HTTP connection goes from
 * the page cache to the socket with sendfile(2), through Outpost's own
 * addon (`native/sendfile`, the package `outpost-sendfile`, built by
 * `npm ci`). Without the addon, with `server.sendfile: off`, on TLS, and
 * wherever the socket's descriptor is not to be had, send.ts writes the body
 * from JavaScript as before.
 *
 * The addon runs sendfile on threads and an epoll instance of its own, on
 * duplicates of the socket and file descriptors, with the socket
 * non-blocking: a slow reader leaves its transfer waiting in epoll, holding
 * no thread (neither one of libuv's pool nor one of the addon's) and
 * stalling nobody's file reads. Here:
 *
 * - the head goes out through Node (`flushHeaders`), and the transfer
 *   starts only once the socket's write callback says the kernel has it all,
 *   so the engine's bytes follow it;
 * - when the body is sent, `res.end()` writes nothing more (Content-Length is
 *   set; Node 20 checks it against written bytes only under
 *   `strictContentLength`, off by default) and Node goes on with the next
 *   request of a keep-alive connection;
 * - the socket closing (client gone, server stopping) cancels the transfer:
 *   the engine drops it from epoll and closes its duplicates at once;
 * - a file that ends before the range did, or an error (EPIPE, ECONNRESET),
 *   cuts the connection, as the JavaScript path does once a head is out;
 * - body bytes never pass through `res.write`: `sentByEngine(res)` gives the
 *   figure to the access log and metrics (src/server/listen.ts).
 *
 * One engine per process, started on the first zero-copy body.
 */
import { createRequire } from 'node:module'
import { constants as osConstants } from 'node:os'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** `server.sendfile`: `auto` uses the addon when it loads; `off` always the JavaScript path. */
export type SendfileMode = 'auto' | 'off'

/** The addon's interface (native/sendfile/src/sendfile.cc). */
interface Engine {
  init(onDone: (id: number, sent: number, error: number) => void, threads: number): void
  send(socketFd: number, fileFd: number, offset: number, length: number): number
  /** Bytes sent so far, or -1 when the transfer has ended (its outcome is on its way). */
  cancel(id: number): number
  progress(id: number): number
  stats(): { threads: number; active: number }
}

/**
 * The engine's threads. Each runs sendfile for one transfer at a time and
 * never waits on a socket; more than one keeps a read from a cold disk
 * inside sendfile from holding up the other transfers.
 */
export const SENDFILE_THREADS = 2

/** The addon's error for a file that ended before the range did. */
const SHORT_FILE = -1
/** errnos that mean "sendfile does not take this file or socket": the body goes the JavaScript way. */
const UNSUPPORTED = new Set([osConstants.errno.EINVAL, osConstants.errno.ENOSYS, osConstants.errno.EOPNOTSUPP])
const ECANCELED = osConstants.errno.ECANCELED
const EMPTY = Buffer.alloc(0)

let mode: SendfileMode = 'auto'
/** undefined: not tried yet; null: not loadable (`problem` says why). */
let addon: Engine | null | undefined
let problem = ''
let started = false
const waiting = new Map<number, (sent: number, error: number) => void>()
/** Transfers by response, for the byte count: `sent` is set once the outcome is in. */
const transfers = new WeakMap<ServerResponse, { id: number; sent: number }>()

const errnoName = (error: number): string => {
  if (error === SHORT_FILE) return 'the file ended before the range did'
  const name = Object.entries(osConstants.errno).find(([, n]) => n === error)?.[0]
  return name ?? `errno ${error}`
}

const onDone = (id: number, sent: number, error: number): void => {
  const settle = waiting.get(id)
  waiting.delete(id)
  settle?.(sent, error)
}

const load = (): Engine | null => {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('outpost-sendfile') as Engine
    } catch (err) {
      addon = null
      problem = `the outpost-sendfile addon is not built (${String((err as Error).message).split('\n')[0]}); npm ci builds it`
    }
  }
  return addon
}

/** The engine, started on first use; null when off or not loadable. */
const engine = (): Engine | null => {
  if (mode !== 'auto') return null
  const a = load()
  if (a && !started) {
    try {
      a.init(onDone, SENDFILE_THREADS)
      started = true
    } catch (err) {
      addon = null
      problem = `the sendfile engine did not start: ${(err as Error).message}`
      return null
    }
  }
  return a ?? null
}

export interface BodyPath {
  /** Large plain-HTTP bodies go by sendfile. */
  sendfile: boolean
  mode: SendfileMode
  /** One line for the log: which path and why. */
  detail: string
}

/** Which path large bodies take, and why. */
export const bodyPath = (): BodyPath => {
  if (mode === 'off') return { sendfile: false, mode, detail: 'large bodies are copied through JavaScript (server.sendfile: off)' }
  if (!load()) return { sendfile: false, mode, detail: `large bodies are copied through JavaScript: ${problem}` }
  return {
    sendfile: true,
    mode,
    detail: 'large bodies on plain HTTP go by sendfile (outpost-sendfile addon); HTTPS bodies through JavaScript',
  }
}

let reported = ''

/**
 * Sets `server.sendfile` for this process (start-up and reload). Returns
 * the path taken from now on, and whether it differs from what the last
 * call returned. Transfers in progress finish the way they started.
 */
export const setSendfile = (next: SendfileMode): BodyPath & { changed: boolean } => {
  mode = next
  const now = bodyPath()
  const changed = now.detail !== reported
  reported = now.detail
  return { ...now, changed }
}

let handedOver = 0
let bytesSent = 0

export interface SendfileStats {
  /** The engine's threads (0 until its first transfer). */
  threads: number
  /** Transfers in progress. */
  active: number
  /** Transfers handed to the engine since the process started. */
  transfers: number
  /** Body bytes they sent, counted as each one ends. */
  bytes: number
}

/** What the engine has done in this process. */
export const sendfileStats = (): SendfileStats => ({
  ...(started && addon ? addon.stats() : { threads: 0, active: 0 }),
  transfers: handedOver,
  bytes: bytesSent,
})

/**
 * Body bytes of `res` that went by sendfile (so far, or in all): they never
 * pass through `res.write`, so a byte count over `write`/`end` adds these.
 */
export const sentByEngine = (res: ServerResponse): number => {
  const t = transfers.get(res)
  if (!t) return 0
  if (t.sent >= 0) return t.sent
  const now = addon?.progress(t.id) ?? -1
  return now > 0 ? now : 0
}

type PlainSocket = Socket & { encrypted?: boolean; _handle?: { fd?: unknown } | null; _httpMessage?: unknown }

/**
 * The socket descriptor a zero-copy body can be written to, or null: the
 * engine is off or absent, the connection is TLS, the response does not
 * own the socket yet (a pipelined request waiting its turn), or the handle
 * has no descriptor.
 */
const socketFdOf = (res: ServerResponse): number | null => {
  const socket = res.socket as PlainSocket | null
  if (!socket || socket.encrypted || socket.destroyed || socket._httpMessage !== res) return null
  const fd = socket._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : null
}

/** How a zero-copy attempt ended. */
export type ZeroCopyOutcome =
  /** Nothing was written: the caller sends the head and the body the JavaScript way. */
  | { kind: 'declined' }
  /** The head is out but sendfile refused this file before any body byte: the caller writes the body. */
  | { kind: 'head-sent' }
  /** Done here, one way or another (the response ended or the connection was cut): `sent` body bytes. */
  | { kind: 'finished'; sent: number }

/**
 * Sends status, headers and bytes [start, start + length) of the file
 * descriptor `fileFd` as `res`, the body by sendfile. The caller keeps
 * `fileFd` open until this resolves, and closes it.
 */
export const sendZeroCopy = async (
  res: ServerResponse,
  fileFd: number | undefined,
  start: number,
  length: number,
  status: number,
  headers: OutgoingHttpHeaders,
): Promise<ZeroCopyOutcome> => {
  if (typeof fileFd !== 'number' || fileFd < 0 || socketFdOf(res) === null) return { kind: 'declined' }
  const sf = engine()
  if (!sf) return { kind: 'declined' }
  const socket = res.socket as PlainSocket
  res.writeHead(status, headers)
  res.flushHeaders()
  // The engine writes to the socket itself: the head must be in the kernel first.
  const flushed = await new Promise<boolean>((resolve) => socket.write(EMPTY, (err) => resolve(!err)))
  const fd = socketFdOf(res)
  if (!flushed || fd === null) {
    res.destroy()
    return { kind: 'finished', sent: 0 }
  }
  let id: number
  try {
    id = sf.send(fd, fileFd, start, length)
  } catch {
    return { kind: 'head-sent' }
  }
  handedOver++
  const transfer = { id, sent: -1 }
  transfers.set(res, transfer)
  const { sent, error } = await new Promise<{ sent: number; error: number }>((resolve) => {
    const onClose = (): void => {
      const sofar = sf.cancel(id)
      // -1: it ended meanwhile, and its outcome is on its way.
      if (sofar < 0) return
      waiting.delete(id)
      resolve({ sent: sofar, error: ECANCELED })
    }
    socket.once('close', onClose)
    waiting.set(id, (sent, error) => {
      socket.off('close', onClose)
      resolve({ sent, error })
    })
  })
  transfer.sent = sent
  bytesSent += sent
  if (error === 0) {
    if (!res.destroyed) res.end()
  } else if (sent === 0 && UNSUPPORTED.has(error) && !res.destroyed) {
    transfers.delete(res)
    return { kind: 'head-sent' }
  } else if (error !== ECANCELED) {
    // The head is out: the only honest signal left is a cut connection.
    res.destroy(new Error(`sendfile: ${errnoName(error)} after ${sent} of ${length} bytes`))
  }
  return { kind: 'finished', sent }
}
