/**
 * Content checks while bytes flow: a blob read from a source is hashed and
 * counted as it passes, and the stream fails (instead of ending) when the
 * bytes do not match the expected digest and size. A consumer that stores
 * only what ended cleanly therefore never keeps a bad blob.
 */
import { createHash, type Hash } from 'node:crypto'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { parseDigest } from './deps.js'
import { ImportError, messageOf } from './errors.js'

export interface Expected {
  digest: string
  size: number
}

/** `sha256:<hex>` of bytes in memory. */
export const digestOf = (bytes: Uint8Array, algorithm = 'sha256'): string =>
  `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`

const hasherFor = (digest: string, file: string, entry: string): Hash => {
  const parsed = parseDigest(digest)
  if (!parsed) throw new ImportError(file, entry, `unsupported digest ${JSON.stringify(digest)}`)
  return createHash(parsed.algorithm)
}

/** Checks bytes in memory against a digest and size; throws an ImportError naming file and entry. */
export const checkBytes = (bytes: Uint8Array, expected: Expected, file: string, entry: string): void => {
  const parsed = parseDigest(expected.digest)
  if (!parsed) throw new ImportError(file, entry, `unsupported digest ${JSON.stringify(expected.digest)}`)
  if (bytes.length !== expected.size) throw new ImportError(file, entry, `${bytes.length} bytes, expected ${expected.size}`)
  const actual = digestOf(bytes, parsed.algorithm)
  if (actual !== expected.digest)
    throw new ImportError(file, entry, `content does not match its digest ${expected.digest} (it hashes to ${actual})`)
}

class Verifier extends Transform {
  private readonly hash: Hash
  private count = 0
  constructor(
    private readonly expected: Expected,
    private readonly file: string,
    private readonly entry: string,
  ) {
    super()
    this.hash = hasherFor(expected.digest, file, entry)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.count += chunk.length
    if (this.count > this.expected.size) {
      done(new ImportError(this.file, this.entry, `more than the expected ${this.expected.size} bytes`))
      return
    }
    this.hash.update(chunk)
    done(null, chunk)
  }

  override _flush(done: TransformCallback): void {
    if (this.count !== this.expected.size) {
      done(new ImportError(this.file, this.entry, `truncated: ${this.count} of ${this.expected.size} bytes`))
      return
    }
    const algorithm = this.expected.digest.slice(0, this.expected.digest.indexOf(':'))
    const actual = `${algorithm}:${this.hash.digest('hex')}`
    if (actual !== this.expected.digest) {
      done(new ImportError(this.file, this.entry, `content does not match its digest ${this.expected.digest} (it hashes to ${actual})`))
      return
    }
    done()
  }
}

/**
 * The bytes of `source`, checked: the returned stream errors with an
 * ImportError (and never ends) when they do not hash to `expected.digest`
 * or are not `expected.size` long; a read error of the source becomes an
 * ImportError naming the file and entry too.
 */
export const verified = (source: Readable, expected: Expected, file: string, entry: string): Readable => {
  const verifier = new Verifier(expected, file, entry)
  source.on('error', (err) =>
    verifier.destroy(err instanceof ImportError ? err : new ImportError(file, entry, `cannot read: ${messageOf(err)}`)),
  )
  verifier.on('close', () => source.destroy())
  return source.pipe(verifier)
}

export interface Hashed {
  digest: string
  size: number
  /** sha256 of the gunzipped bytes, when asked for and the bytes are gzip. */
  diffId?: string
}

/**
 * Reads a stream to its end, hashing it (sha256). With `gunzip`, also
 * hashes the decompressed bytes: a compressed layer's diff_id.
 */
export const hashStream = async (source: Readable, file: string, entry: string, gunzip = false): Promise<Hashed> => {
  const hash = createHash('sha256')
  let size = 0
  let inflate: ReturnType<typeof createGunzip> | undefined
  let inflated: Promise<string> | undefined
  if (gunzip) {
    const unpacked = createHash('sha256')
    const z = createGunzip()
    inflate = z
    inflated = new Promise<string>((resolve, reject) => {
      z.on('data', (c: Buffer) => unpacked.update(c))
      z.on('end', () => resolve(`sha256:${unpacked.digest('hex')}`))
      z.on('error', (err) => reject(new ImportError(file, entry, `not valid gzip: ${messageOf(err)}`)))
    })
    // Awaited below; a failure before then must not count as unhandled.
    inflated.catch(() => undefined)
  }
  try {
    for await (const chunk of source) {
      const b = chunk as Buffer
      size += b.length
      hash.update(b)
      if (inflate && !inflate.write(b)) await Promise.race([new Promise((r) => inflate!.once('drain', r)), inflated])
    }
  } catch (err) {
    inflate?.destroy()
    throw err instanceof ImportError ? err : new ImportError(file, entry, `cannot read: ${messageOf(err)}`)
  }
  const out: Hashed = { digest: `sha256:${hash.digest('hex')}`, size }
  if (inflate && inflated) {
    inflate.end()
    out.diffId = await inflated
  }
  return out
}
