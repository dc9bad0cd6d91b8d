/**
 * The fast serving path shared by the registry and the file roots.
 *
 * Measured on the Node adapter: a Web ReadableStream body is about 0.3× nginx
 * and `createReadStream().pipe()` about 0.4×, while reading 1 MiB chunks with
 * `FileHandle.read` and writing them straight to the Node response keeps up
 * with nginx on one stream. Small bodies are read whole and handed back as
 * bytes, which the adapter writes in one go.
 */
import { open, type FileHandle } from 'node:fs/promises'
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http'
import { once } from 'node:events'

/** Bodies up to this size are read whole and returned as bytes. */
export const SMALL_BODY_LIMIT = 256 * 1024
/** Chunk size for large bodies. */
export const CHUNK_SIZE = 1024 * 1024

export interface OpenedFile {
  handle: FileHandle
  size: number
  mtimeMs: number
}

/**
 * Opens a regular file and reads its size with one fstat. Returns null when
 * the path is missing or not a regular file, so callers answer 404 before any
 * header is written.
 */
export const openFile = async (path: string): Promise<OpenedFile | null> => {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return null
    throw err
  }
  try {
    const st = await handle.stat()
    if (!st.isFile()) {
      await handle.close()
      return null
    }
    return { handle, size: st.size, mtimeMs: st.mtimeMs }
  } catch (err) {
    await handle.close().catch(() => {})
    throw err
  }
}

/** Reads `length` bytes at `position` in full (short reads are retried). */
export const readExactly = async (handle: FileHandle, position: number, length: number): Promise<Buffer> => {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done)
    if (bytesRead === 0) throw new Error(`file shrank while reading (${done} of ${length} bytes)`)
    done += bytesRead
  }
  return buf
}

/**
 * Chunk buffers are reused: a buffer goes back to the pool once the socket
 * has taken its bytes (the write callback), so a busy server allocates
 * nothing per chunk and its RSS stays flat. The chunk size shrinks as
 * concurrent streams grow, keeping the bytes in flight under
 * IN_FLIGHT_BUDGET: 1 MiB chunks for a few streams (fastest on one stream),
 * 64 KiB at 128 streams.
 */
export const IN_FLIGHT_BUDGET = 16 * 1024 * 1024
const MIN_CHUNK = 64 * 1024
/** Idle chunk buffers kept for reuse, in bytes across all sizes. */
const POOL_BUDGET = 16 * 1024 * 1024
const pools = new Map<number, Buffer[]>()
let pooledBytes = 0
let activeStreams = 0

const chunkSizeFor = (streams: number): number => {
  let size = CHUNK_SIZE
  // Two buffers per stream (one being read, one being sent).
  while (size > MIN_CHUNK && size * 2 * streams > IN_FLIGHT_BUDGET) size /= 2
  return size
}

const acquire = (size: number): Buffer => {
  const buf = pools.get(size)?.pop()
  if (!buf) return Buffer.allocUnsafeSlow(size)
  pooledBytes -= size
  return buf
}

const release = (buf: Buffer): void => {
  if (pooledBytes + buf.length > POOL_BUDGET) return
  const pool = pools.get(buf.length)
  if (pool) pool.push(buf)
  else pools.set(buf.length, [buf])
  pooledBytes += buf.length
}

/** Reads `length` bytes at `position` into `buf` in full (short reads are retried). */
const readInto = async (handle: FileHandle, buf: Buffer, length: number, position: number): Promise<void> => {
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done)
    if (bytesRead === 0) throw new Error(`file shrank while reading (${done} of ${length} bytes)`)
    done += bytesRead
  }
}

/**
 * Writes the status, the headers and bytes [start, end] of an opened file to
 * a Node response, double-buffered: the next chunk is read from disk while
 * the previous one is on its way to the socket. The caller has settled the
 * status: once the head is out, a read error can only cut the connection.
 * Always closes the file handle. Resolves with the body bytes written.
 */
export const writeFileRange = async (
  res: ServerResponse,
  file: OpenedFile,
  start: number,
  end: number,
  status: number,
  headers: OutgoingHttpHeaders,
): Promise<number> => {
  activeStreams++
  const buffers: Array<Buffer | null> = [null, null]
  const inFlight: Array<Promise<boolean> | null> = [null, null]
  let sent = 0
  let clean = true
  const closed = once(res, 'close').then(() => false)
  try {
    res.writeHead(status, headers)
    let position = start
    let slot = 0
    while (position <= end) {
      // Wait until this slot's previous chunk has left (or the client has).
      if (inFlight[slot] && !(await Promise.race([inFlight[slot]!, closed]))) break
      if (res.destroyed) break
      // The slot is free: resize it to what the current number of streams allows.
      const size = chunkSizeFor(activeStreams)
      let buf = buffers[slot]
      if (!buf || buf.length !== size) {
        if (buf) release(buf)
        buf = buffers[slot] = acquire(size)
      }
      const length = Math.min(size, end - position + 1)
      await readInto(file.handle, buf, length, position)
      position += length
      sent += length
      const chunk = length === size ? buf : buf.subarray(0, length)
      inFlight[slot] = new Promise<boolean>((done) => res.write(chunk, (err) => done(!err)))
      slot ^= 1
    }
    const flushed = await Promise.race([Promise.all(inFlight.map((p) => p ?? true)), closed])
    if (flushed === false || (Array.isArray(flushed) && flushed.includes(false)) || res.destroyed) clean = false
    else res.end()
  } catch (err) {
    clean = false
    // Headers are already out: the only honest signal left is a cut connection.
    res.destroy(err as Error)
  } finally {
    activeStreams--
    // A buffer may still be referenced by a cancelled write: only a clean
    // finish returns them to the pool.
    if (clean) for (const b of buffers) if (b) release(b)
    await file.handle.close().catch(() => {})
  }
  return sent
}

/** A Buffer as the plain Uint8Array a Response body takes (no copy). */
export const asBody = (buf: Buffer): Uint8Array<ArrayBuffer> =>
  new Uint8Array(buf.buffer as ArrayBuffer, buf.byteOffset, buf.byteLength)
