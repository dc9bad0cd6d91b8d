/**
 * The signing key a package tree publishes, so node set-up can have apt
 * and dnf check signatures with it (apt `Signed-By:`, yum `gpgkey=`)
 * instead of trusting the tree blindly.
 *
 * Where keys are looked for, in the tree's own directory (the yum tree, the
 * apt archive root or flat repository), first match wins:
 *
 * - yum: `RPM-GPG-KEY*` (as CentOS and Rocky mirrors carry them), then
 *   `*.asc`, then `repodata/repomd.xml.key` (as OBS and pkgs.k8s.io publish
 *   it). rpm and dnf take ASCII-armoured keys: others are passed over.
 * - apt: `*.asc` (armoured) and `*.gpg` / `*.pgp` (binary keyring), the
 *   format agreeing with the name, as apt decides a `Signed-By` file's
 *   format by its name.
 *
 * A file counts only when its first bytes are an OpenPGP public key
 * (RFC 9580): an armour header `BEGIN PGP PUBLIC KEY BLOCK`, or a
 * public-key packet. So `Release.gpg`, a detached signature, is never taken
 * for a key. Names outside `[A-Za-z0-9._+-]` are passed over: the URL goes
 * into set-up files and bootstrap.sh as it is.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'

export type KeyFormat = 'armored' | 'binary'

const ARMOR_HEADER = '-----BEGIN PGP PUBLIC KEY BLOCK-----'
const PUBLIC_KEY_TAG = 6
const SAFE_NAME = /^[A-Za-z0-9._+-]+$/

/** The version octet of a public-key packet starting at `b[0]`, or null when it is not one. */
const publicKeyVersion = (b: Buffer): number | null => {
  const first = b[0]
  if (first === undefined || (first & 0x80) === 0) return null
  if (first & 0x40) {
    // New format: tag in the low six bits, then a one-, two- or five-octet length.
    if ((first & 0x3f) !== PUBLIC_KEY_TAG) return null
    const l = b[1]
    if (l === undefined) return null
    return b[l < 192 ? 2 : l < 224 ? 3 : l === 255 ? 6 : -1] ?? null
  }
  // Old format: tag in bits 5-2, length type in bits 1-0 (one, two or four octets).
  if (((first >> 2) & 0x0f) !== PUBLIC_KEY_TAG) return null
  const lengthType = first & 0x03
  if (lengthType === 3) return null
  return b[1 + [1, 2, 4][lengthType]!] ?? null
}

/** What the first bytes of a file say it is: an armoured key, a binary key, or neither. */
export const keyFormatOf = (head: Buffer): KeyFormat | null => {
  const text = head
    .toString('latin1')
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart()
  if (text.startsWith(ARMOR_HEADER)) return 'armored'
  const version = publicKeyVersion(head)
  return version !== null && version >= 3 && version <= 6 ? 'binary' : null
}

const readHead = async (path: string, bytes = 128): Promise<Buffer | null> => {
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    handle = await open(path, 'r')
    if (!(await handle.stat()).isFile()) return null
    const buf = Buffer.alloc(bytes)
    const { bytesRead } = await handle.read(buf, 0, bytes, 0)
    return buf.subarray(0, bytesRead)
  } catch {
    return null
  } finally {
    await handle?.close().catch(() => {})
  }
}

/** Candidate key files in the order they are tried, with the format each must have. */
const candidates = (kind: 'yum' | 'apt', names: readonly string[]): Array<{ path: string; format: KeyFormat }> => {
  const sorted = [...names].filter((n) => SAFE_NAME.test(n)).sort()
  if (kind === 'yum') {
    return [
      ...sorted.filter((n) => n.startsWith('RPM-GPG-KEY')),
      ...sorted.filter((n) => /\.asc$/i.test(n)),
      'repodata/repomd.xml.key',
    ].map((path) => ({ path, format: 'armored' as const }))
  }
  return sorted.flatMap((n): Array<{ path: string; format: KeyFormat }> =>
    /\.asc$/i.test(n) ? [{ path: n, format: 'armored' }] : /\.(gpg|pgp)$/i.test(n) ? [{ path: n, format: 'binary' }] : [],
  )
}

/**
 * The signing key in a tree's directory `dir`, whose entries are `names`:
 * its path relative to `dir` (`RPM-GPG-KEY-Rocky-9`, `repodata/repomd.xml.key`),
 * or null when the tree publishes none.
 */
export const findSigningKey = async (kind: 'yum' | 'apt', dir: string, names: readonly string[]): Promise<string | null> => {
  for (const c of candidates(kind, names)) {
    const head = await readHead(join(dir, c.path))
    if (head && keyFormatOf(head) === c.format) return c.path
  }
  return null
}
