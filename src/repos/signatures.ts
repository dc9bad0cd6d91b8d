/**
 * Whether a package tree is signed, so node set-up keeps signature checks
 * on for the trees that can be checked, and turns them off only for those
 * that cannot:
 *
 * - apt: `InRelease` or `Release.gpg` beside the suite's `Release` (or the
 *   flat repository's) — apt then checks the Release signature;
 * - yum metadata: `repodata/repomd.xml.asc` (dnf `repo_gpgcheck`);
 * - yum packages: the RPM signature header of a sample of the packages the
 *   tree lists (dnf `gpgcheck`). An RPM's lead (96 bytes) is followed by its
 *   signature header (magic `8e ad e8 01`, then the entry count); a signed
 *   package carries an OpenPGP signature tag there (rpm's rpmtag.h:
 *   RSAHEADER 268, DSAHEADER 267, OPENPGP 278, and the legacy PGP 1002,
 *   GPG 1005, PGP5 1006), an unsigned one only digests.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { isFile } from './probe.js'

const LEAD_BYTES = 96
const HEADER_MAGIC = 0x8eade801
const SIGNATURE_TAGS = new Set([267, 268, 278, 1002, 1005, 1006])
/** Index entries read at most: real signature headers hold about a dozen. */
const MAX_ENTRIES = 64

/** What an RPM's signature header says: `signed`, `unsigned`, or null when the bytes are not an RPM. */
export const rpmSignatureOf = (head: Buffer): 'signed' | 'unsigned' | null => {
  if (head.length < LEAD_BYTES + 16 || head.readUInt32BE(0) !== 0xedabeedb) return null
  if (head.readUInt32BE(LEAD_BYTES) !== HEADER_MAGIC) return null
  const entries = Math.min(head.readUInt32BE(LEAD_BYTES + 8), MAX_ENTRIES)
  for (let i = 0; i < entries; i++) {
    const at = LEAD_BYTES + 16 + i * 16
    if (at + 4 > head.length) break
    if (SIGNATURE_TAGS.has(head.readUInt32BE(at))) return 'signed'
  }
  return 'unsigned'
}

const HEAD_BYTES = LEAD_BYTES + 16 + MAX_ENTRIES * 16

/** Reads an RPM's signature header: `signed`, `unsigned`, or null when it cannot be read or is no RPM. */
export const rpmSignature = async (path: string): Promise<'signed' | 'unsigned' | null> => {
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    handle = await open(path, 'r')
    if (!(await handle.stat()).isFile()) return null
    const buf = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0)
    return rpmSignatureOf(buf.subarray(0, bytesRead))
  } catch {
    return null
  } finally {
    await handle?.close().catch(() => {})
  }
}

/** Packages looked at per tree: spread over its list, so a partly signed tree is likely seen as such. */
export const RPM_SAMPLE = 8

/** Up to `n` entries spread evenly over a list (first and last included). */
export const spread = <T>(list: readonly T[], n = RPM_SAMPLE): T[] => {
  if (list.length <= n) return [...list]
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(list[Math.round((i * (list.length - 1)) / (n - 1))]!)
  return out
}

/**
 * Whether a yum tree's packages are signed, from a sample of `packages`
 * (absolute paths the tree's checks found inside its root): true when every
 * package looked at is signed, false when one is not, null when none could
 * be read.
 */
export const yumPackagesSigned = async (packages: readonly string[]): Promise<boolean | null> => {
  let seen = 0
  for (const path of spread(packages)) {
    const sig = await rpmSignature(path)
    if (sig === 'unsigned') return false
    if (sig === 'signed') seen++
  }
  return seen ? true : null
}

/** apt: the Release in `releaseDir` is signed (InRelease, or Release with Release.gpg). */
export const aptReleaseSigned = async (releaseDir: string): Promise<boolean> =>
  (await isFile(join(releaseDir, 'InRelease'))) || (await isFile(join(releaseDir, 'Release.gpg')))

/** yum: repomd.xml has a detached signature. */
export const yumMetadataSigned = (dir: string): Promise<boolean> => isFile(join(dir, 'repodata', 'repomd.xml.asc'))
