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
 * Writes the status, the headers and bytes [start, end] of an opened file to
 * a Node response, in big chunks with back-pressure. The caller has settled
 * the status: once the head is out, a read error can only cut the connection.
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
  let sent = 0
  try {
    res.writeHead(status, headers)
    let position = start
    while (position <= end) {
      if (res.destroyed) break
      const length = Math.min(CHUNK_SIZE, end - position + 1)
      const chunk = await readExactly(file.handle, position, length)
      position += length
      sent += length
      if (!res.write(chunk)) {
        // Wait for the socket to drain, or for the client to go away.
        await Promise.race([once(res, 'drain'), once(res, 'close')])
      }
    }
    if (!res.destroyed) res.end()
  } catch (err) {
    // Headers are already out: the only honest signal left is a cut connection.
    res.destroy(err as Error)
  } finally {
    await file.handle.close().catch(() => {})
  }
  return sent
}

/** A Buffer as the plain Uint8Array a Response body takes (no copy). */
export const asBody = (buf: Buffer): Uint8Array<ArrayBuffer> =>
  new Uint8Array(buf.buffer as ArrayBuffer, buf.byteOffset, buf.byteLength)
