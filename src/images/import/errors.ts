/**
 * The one error import raises for a bad source: it names the file (or
 * folder) and, when there is one, the entry inside it, so the message points
 * at what to fix: `busybox.tar: blobs/sha256/3f4…: 1031 bytes, expected 2048`.
 */
export class ImportError extends Error {
  override readonly name = 'ImportError'
  constructor(
    /** The path given to import. */
    readonly file: string,
    /** The entry inside it (tar member, file in the folder, or a manifest), when there is one. */
    readonly entry: string | undefined,
    /** What is wrong, without the file and entry. */
    readonly detail: string,
  ) {
    super(entry ? `${file}: ${entry}: ${detail}` : `${file}: ${detail}`)
  }
}

/** The message of anything thrown, for wrapping a system error into an ImportError. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))
