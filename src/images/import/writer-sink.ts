/**
 * An ImageSink over a writable registry:2 tree (the push root): blobs go
 * through `ImageWriter.putBlob` (hashed as written, checked, renamed into
 * place), a manifest's blobs are linked into the repository (`_layers`)
 * before the manifest is stored, and a tag is written last, so the tree a
 * reader sees (this process, a running server, docker-registry) only ever
 * gains whole images. What is already there is left alone: a second import
 * of the same sources writes nothing.
 */
import type { Readable } from 'node:stream'
import type { Digest } from '../grammar.js'
import type { ManifestReadResult } from '../manifests.js'
import { parseManifest } from '../media-types.js'
import type { ImageWriter } from '../store/types.js'
import { referencesOf } from '../store/registry2-writer.js'
import type { ImageSink } from './sink.js'
import { parseDigest } from './deps.js'

/** What the sink needs of the push root: its writer and a few direct (uncached) reads. */
export interface SinkTarget extends ImageWriter {
  /** Whether the blob's bytes are stored (in any repository). */
  hasBlobData(digest: Digest): Promise<boolean>
  /** Whether the blob belongs to the repository. */
  linksBlob(name: string, digest: Digest): Promise<boolean>
  hasManifest(name: string, digest: Digest): Promise<boolean>
  resolveTag(name: string, tag: string): Promise<Digest | null>
  readManifest(digest: Digest): Promise<ManifestReadResult>
}

const digestOf = (value: string): Digest => {
  const d = parseDigest(value)
  if (!d) throw new Error(`not a digest: ${value}`)
  return d
}

export interface WriterSinkOptions {
  /**
   * Runs once, before the first write (making the push root's folders): a
   * run that writes nothing (a re-run, a refused source) leaves even a
   * missing push root as it was.
   */
  prepare?: () => Promise<void>
}

export class WriterSink implements ImageSink {
  /** Writes made, in order (`blob …`, `link repo@…`, `manifest repo@…`, `tag repo:tag …`): what a run changed. */
  readonly writes: string[] = []
  private prepared: Promise<void> | undefined

  constructor(
    private readonly target: SinkTarget,
    private readonly options: WriterSinkOptions = {},
  ) {}

  private prepare(): Promise<void> {
    this.prepared ??= (this.options.prepare ?? (async () => undefined))()
    return this.prepared
  }

  hasBlob(digest: string): Promise<boolean> {
    return this.target.hasBlobData(digestOf(digest))
  }

  async putBlob(digest: string, size: number, stream: Readable): Promise<void> {
    // The writer starts reading after a few awaits; a small blob may fail its check before then.
    // Its error is not lost: reading an errored stream throws it.
    stream.on('error', () => undefined)
    await this.prepare()
    const stat = await this.target.putBlob(digestOf(digest), stream)
    // The digest matched, so these are the bytes the manifest names; a size that differs means the descriptor lied.
    if (stat.size !== size) throw new Error(`blob ${digest} is ${stat.size} bytes, the manifest gives ${size}`)
    this.writes.push(`blob ${digest}`)
  }

  /**
   * Whether the repository holds the manifest whole: its revision link, its
   * bytes, and a link to every blob it names (a blob unlinked since, by a
   * DELETE, makes it "not held", so importing again repairs it).
   */
  async hasManifest(repo: string, digest: string): Promise<boolean> {
    const d = digestOf(digest)
    if (!(await this.target.hasManifest(repo, d))) return false
    const read = await this.target.readManifest(d)
    if (!read.ok) return false
    for (const blob of referencesOf(read.manifest.info).blobs) {
      if (!(await this.target.linksBlob(repo, blob))) return false
    }
    return true
  }

  /**
   * Links the manifest's config and layers into `repo` (children are
   * stored in `repo` before it), then stores the manifest. The bytes are
   * served with the media type they carry (or their shape gives), as
   * registry:2 serves them, so `mediaType` is not needed here.
   */
  async putManifest(repo: string, digest: string, bytes: Buffer, _mediaType: string): Promise<void> {
    await this.prepare()
    const info = parseManifest(bytes)
    if (info) {
      for (const blob of referencesOf(info).blobs) {
        if (await this.target.linksBlob(repo, blob)) continue
        await this.target.linkBlob(repo, blob)
        this.writes.push(`link ${repo}@${blob.value}`)
      }
    }
    await this.target.putManifest(repo, digestOf(digest), bytes)
    this.writes.push(`manifest ${repo}@${digest}`)
  }

  async tagOf(repo: string, tag: string): Promise<string | undefined> {
    return (await this.target.resolveTag(repo, tag))?.value
  }

  /** Points the tag at a manifest of the repository (its revision link is rewritten, same content). */
  async tag(repo: string, tag: string, digest: string): Promise<void> {
    const d = digestOf(digest)
    await this.prepare()
    const read = await this.target.readManifest(d)
    if (!read.ok) throw new Error(`manifest ${digest} cannot be read back (${read.reason})`)
    await this.target.putManifest(repo, d, read.manifest.bytes, tag)
    this.writes.push(`tag ${repo}:${tag} ${digest}`)
  }
}
