/**
 * The fast serving path shared by the registry and the file roots.
 *
 * Measured on the Node adapter: a Web ReadableStream body is about 0.3× nginx
 * and `createReadStream().pipe()` about 0.4×, while reading 1 MiB chunks with
 * `FileHandle.read` and writing them straight to the Node response keeps up
 * with nginx on one stream. Small bodies are read whole and handed back as
 * bytes, which the adapter writes in one go.
 *
 * Large bodies read the next chunk while the last drains, from a pool of
 * chunk buffers bounded in total (LARGE_BODY_MEMORY), with the chunk size
 * shrinking as concurrent downloads grow: 128 clients of a 64 MiB file took
 * Outpost past 260 MB of RSS on fresh 1 MiB buffers, and stay near 110 MB so
 * (72 MB of it is the process at rest).
 */
import { close as closeFd, constants as fsConstants, read as readFd } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http'
import { sendZeroCopy } from './zero-copy.js'

/** Bodies up to this size are read whole and returned as bytes. */
export const SMALL_BODY_LIMIT = 256 * 1024
/** Largest chunk for large bodies. */
export const CHUNK_SIZE = 1024 * 1024
/** Smallest chunk, however many bodies are being written. */
export const MIN_CHUNK_SIZE = 64 * 1024
/**
 * Memory that large-body writers may hold at once, all responses together.
 * Each holds two chunks (one being written, one being read ahead), so the
 * chunk shrinks as concurrent downloads grow: 1 MiB up to 8 of them,
 * 64 KiB from 128. Without this, 128 clients on 1 MiB chunks pin 256 MiB.
 */
export const LARGE_BODY_MEMORY = 16 * 1024 * 1024

/** The chunk size (a power of two) for a body when `active` large bodies are being written. */
export const chunkSizeFor = (active: number): number => {
  const share = LARGE_BODY_MEMORY / 2 / Math.max(1, active)
  let size = CHUNK_SIZE
  while (size > MIN_CHUNK_SIZE && size > share) size /= 2
  return size
}

/**
 * Chunk buffers come from one slab of LARGE_BODY_MEMORY, allocated on first
 * use and kept: fresh buffers at a gigabyte a second pile up faster than the
 * collector frees them, and freed ones fragment the allocator, so RSS climbs
 * far past what is in use (measured: 260 MB for 128 clients). The slab is
 * cut into 1 MiB blocks; a free block takes the size of the first request
 * that needs it and is split into pieces of that size; a block whose pieces
 * are all back is free again. A piece comes back once the socket has taken
 * its bytes (the write callback). One that never comes back (a cut
 * connection) is noticed when the collector takes it, and its slot is made
 * anew. When the slab is full, a chunk is allocated outside it and left to
 * the collector.
 */
const BLOCK_SIZE = CHUNK_SIZE

interface Block {
  memory: Buffer
  /** Piece size, or 0 while the block is free. */
  pieceSize: number
  free: Buffer[]
  inUse: number
}

interface Piece {
  block: Block
  offset: number
}

const blocks: Block[] = []
const pieces = new WeakMap<Buffer, Piece>()
const lost = new FinalizationRegistry<Piece>((p) => {
  // Unreachable, so no socket holds it any more: the slot is free.
  if (p.block.pieceSize === 0) return
  const fresh = p.block.memory.subarray(p.offset, p.offset + p.block.pieceSize)
  pieces.set(fresh, p)
  returnPiece(p.block, fresh)
})

const returnPiece = (block: Block, piece: Buffer): void => {
  block.free.push(piece)
  if (--block.inUse === 0) {
    block.pieceSize = 0
    block.free = []
  }
}

const takePiece = (block: Block): Buffer => {
  const piece = block.free.pop()!
  block.inUse++
  lost.register(piece, pieces.get(piece)!, piece)
  return piece
}

const acquireChunk = (size: number): Buffer => {
  for (const b of blocks) if (b.pieceSize === size && b.free.length) return takePiece(b)
  let block = blocks.find((b) => b.pieceSize === 0)
  if (!block && blocks.length < LARGE_BODY_MEMORY / BLOCK_SIZE) {
    block = { memory: Buffer.allocUnsafeSlow(BLOCK_SIZE), pieceSize: 0, free: [], inUse: 0 }
    blocks.push(block)
  }
  if (!block) return Buffer.allocUnsafeSlow(size)
  block.pieceSize = size
  for (let offset = 0; offset + size <= BLOCK_SIZE; offset += size) {
    const piece = block.memory.subarray(offset, offset + size)
    pieces.set(piece, { block, offset })
    block.free.push(piece)
  }
  return takePiece(block)
}

const releaseChunk = (buf: Buffer): void => {
  const p = pieces.get(buf)
  if (!p) return // allocated outside the slab: the collector has it
  lost.unregister(buf)
  returnPiece(p.block, buf)
}

interface Chunk {
  buf: Buffer
  length: number
}

let activeLargeBodies = 0

/**
 * What the writers need of an open file: positional reads and close. A
 * FileHandle is one; `fdReader` makes one of a descriptor opened
 * synchronously.
 */
export interface FileReader {
  /** The descriptor, for sendfile (zero-copy.ts); without one the body is read in JavaScript. */
  readonly fd?: number
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>
  close(): Promise<void>
}

/** A FileReader over a raw descriptor (closed by `close`). */
export const fdReader = (fd: number): FileReader => ({
  fd,
  read: (buffer, offset, length, position) =>
    new Promise((resolve, reject) => {
      readFd(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead })))
    }),
  close: () => new Promise((resolve) => closeFd(fd, () => resolve())),
})

export interface OpenedFile {
  handle: FileReader
  size: number
  mtimeMs: number
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK

/**
 * Opens a regular file and reads its size with one fstat. Returns null when
 * the path is missing or not a regular file (a FIFO, socket or device is
 * opened without blocking and refused), so callers answer 404 before any
 * header is written.
 */
export const openFile = async (path: string): Promise<OpenedFile | null> => {
  let handle: FileHandle
  try {
    handle = await open(path, OPEN_FLAGS)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG' || code === 'ENXIO')
      return null
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

/** A regular file read whole; null when missing or not a regular file (never blocks on a FIFO). */
export const readRegularFile = async (path: string): Promise<Buffer | null> => {
  const file = await openFile(path)
  if (!file) return null
  try {
    return await readExactly(file.handle, 0, file.size)
  } finally {
    await file.handle.close()
  }
}

/** Reads `length` bytes at `position` into the start of `buf`, in full. */
const readInto = async (handle: FileReader, buf: Buffer, position: number, length: number): Promise<void> => {
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done)
    if (bytesRead === 0) throw new Error(`file shrank while reading (${done} of ${length} bytes)`)
    done += bytesRead
  }
}

/** Reads `length` bytes at `position` in full (short reads are retried). */
export const readExactly = async (handle: FileReader, position: number, length: number): Promise<Buffer> => {
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
 * Waits for the socket to drain, or for the client to go away. Both
 * listeners go when either fires: `events.once` on each would leave a
 * 'close' listener behind per chunk, a thousand on a 1 GiB body.
 */
const drainedOrClosed = (res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })

/**
 * Writes the status, the headers and bytes [start, end] of an opened file to
 * a Node response. On a plain HTTP connection with the sendfile addon the
 * body goes by sendfile (zero-copy.ts); else it is written from JavaScript,
 * in big chunks with back-pressure, the next chunk read while the last one
 * drains to the socket, so disk and network overlap. The caller has settled
 * the status: once the head is out, a read error can only cut the
 * connection. Always closes the file. Resolves with the body bytes written.
 */
export const writeFileRange = async (
  res: ServerResponse,
  file: OpenedFile,
  start: number,
  end: number,
  status: number,
  headers: OutgoingHttpHeaders,
): Promise<number> => {
  let zeroCopy
  try {
    zeroCopy = await sendZeroCopy(res, file.handle.fd, start, end - start + 1, status, headers)
  } catch (err) {
    // writeHead refused the headers, or the engine failed: cut the connection, as the JavaScript path does.
    res.destroy(err as Error)
    zeroCopy = { kind: 'finished', sent: 0 } as const
  }
  if (zeroCopy.kind === 'finished') {
    await file.handle.close().catch(() => {})
    return zeroCopy.sent
  }
  return writeChunks(res, file, start, end, zeroCopy.kind === 'declined' ? { status, headers } : null)
}

/** The JavaScript body path: `head` is written first unless sendfile has sent it already. */
const writeChunks = async (
  res: ServerResponse,
  file: OpenedFile,
  start: number,
  end: number,
  head: { status: number; headers: OutgoingHttpHeaders } | null,
): Promise<number> => {
  let sent = 0
  activeLargeBodies++
  let ahead: Promise<Chunk> | null = null
  try {
    if (head) res.writeHead(head.status, head.headers)
    let position = start
    const readNext = (): Promise<Chunk> | null => {
      if (position > end) return null
      const buf = acquireChunk(chunkSizeFor(activeLargeBodies))
      const length = Math.min(buf.length, end - position + 1)
      const at = position
      position += length
      return readInto(file.handle, buf, at, length).then(
        () => ({ buf, length }),
        (err) => {
          releaseChunk(buf)
          throw err
        },
      )
    }
    ahead = readNext()
    while (ahead) {
      const { buf, length } = await ahead
      ahead = null
      if (res.destroyed) {
        releaseChunk(buf)
        break
      }
      ahead = readNext()
      sent += length
      // The buffer goes back to the pool only once the socket is done with it.
      // A failed write has let go of the bytes too (the request is cancelled).
      const written = res.write(buf.subarray(0, length), () => releaseChunk(buf))
      if (!written) await drainedOrClosed(res)
    }
    if (!res.destroyed) res.end()
  } catch (err) {
    // Headers are already out: the only honest signal left is a cut connection.
    res.destroy(err as Error)
  } finally {
    activeLargeBodies--
    // A read still in flight must finish before its descriptor is closed.
    if (ahead) await (ahead as Promise<Chunk>).catch(() => {})
    await file.handle.close().catch(() => {})
  }
  return sent
}

/** A Buffer as the plain Uint8Array a Response body takes (no copy). */
export const asBody = (buf: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(buf.buffer as ArrayBuffer, buf.byteOffset, buf.byteLength)
