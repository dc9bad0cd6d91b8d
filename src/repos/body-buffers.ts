/**
 * Buffers for small bodies that are read for one response and not kept in
 * the file cache (the cache is full, or the file is larger than it keeps):
 * handed back once the response has passed them to the kernel and reused,
 * instead of a new allocation for every request. A fresh buffer costs its
 * allocation and then the page faults of the read into new memory: together
 * about as much as the read itself (measured on the small-file benchmark,
 * ~3 µs of a ~10 µs open-fstat-read-close of a 10 KiB file).
 *
 * Buffers come in power-of-two classes from 1 KiB to `largest`; a body gets
 * the smallest class that holds it and sees only its own bytes (a view of
 * that length). Free buffers are kept up to `maxFreeBytes` in all; the rest
 * are left to the collector. A buffer given back is reused only when its
 * response finished (see static.ts): one whose client went away may still
 * be in a write the kernel has not taken.
 */

const SMALLEST = 1024

export interface BodyBuffersOptions {
  /** Largest body served from a reused buffer (default 256 KiB); larger ones get their own. */
  largest?: number
  /** Free buffers kept, in bytes (default 4 MiB). */
  maxFreeBytes?: number
}

/** A body in a reused buffer: `bytes` is the view to send, `release` gives the buffer back (once). */
export interface PooledBody {
  bytes: Buffer
  release: () => void
}

export class BodyBuffers {
  readonly largest: number
  readonly maxFreeBytes: number
  #free: Buffer[][] = []
  #freeBytes = 0

  constructor(options: BodyBuffersOptions = {}) {
    this.largest = options.largest ?? 256 * 1024
    this.maxFreeBytes = options.maxFreeBytes ?? 4 * 1024 * 1024
    for (let size = SMALLEST; size <= this.largest; size *= 2) this.#free.push([])
  }

  /** Bytes held in free buffers now. */
  get freeBytes(): number {
    return this.#freeBytes
  }

  /** A buffer for a body of `size` bytes (1 ≤ size ≤ largest), or null when it is out of range. */
  take(size: number): PooledBody | null {
    if (size < 1 || size > this.largest) return null
    let cls = 0
    while (SMALLEST << cls < size) cls++
    const list = this.#free[cls]!
    let buf = list.pop()
    if (buf) this.#freeBytes -= buf.length
    // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool.
    else buf = Buffer.allocUnsafeSlow(SMALLEST << cls)
    const parent = buf
    let given = false
    return {
      bytes: parent.subarray(0, size),
      release: () => {
        if (given) return
        given = true
        this.#give(cls, parent)
      },
    }
  }

  #give(cls: number, buf: Buffer): void {
    if (this.#freeBytes + buf.length > this.maxFreeBytes) return
    this.#free[cls]!.push(buf)
    this.#freeBytes += buf.length
  }
}
