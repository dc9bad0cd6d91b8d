/**
 * Package trees written by hand (no rpm or apt tools): the index files are
 * well-formed and their checksums right, the "packages" are random bytes.
 * Enough for detection and checks; the e2e tests build real ones.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

const put = (path: string, data: Buffer | string): Buffer => {
  mkdirSync(dirname(path), { recursive: true })
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data)
  writeFileSync(path, b)
  return b
}

export interface SyntheticYum {
  dir: string
  packages: string[]
  primaryHref: string
  filelistsHref: string
}

export const writeYumTree = (dir: string, names = ['alpha-1.0-1.x86_64.rpm', 'beta-2.0-1.noarch.rpm']): SyntheticYum => {
  const pkgs = names.map((n) => ({ href: `Packages/${n}`, data: put(join(dir, 'Packages', n), randomBytes(1000 + n.length)) }))
  const primary = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" packages="${pkgs.length}">\n` +
      pkgs
        .map(
          (p, i) =>
            `<package type="rpm"><name>p${i}</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>` +
            `<checksum type="sha256" pkgid="YES">${sha256(p.data)}</checksum><size package="${p.data.length}"/><location href="${p.href}"/></package>\n`,
        )
        .join('') +
      '</metadata>\n',
  )
  const primaryGz = gzipSync(primary)
  const filelists = gzipSync('<filelists packages="0"/>')
  const primaryHref = `repodata/${sha256(primaryGz)}-primary.xml.gz`
  const filelistsHref = `repodata/${sha256(filelists)}-filelists.xml.gz`
  put(join(dir, primaryHref), primaryGz)
  put(join(dir, filelistsHref), filelists)
  const data = (type: string, href: string, b: Buffer, open?: Buffer): string =>
    `<data type="${type}"><checksum type="sha256">${sha256(b)}</checksum>` +
    (open ? `<open-checksum type="sha256">${sha256(open)}</open-checksum>` : '') +
    `<location href="${href}"/><size>${b.length}</size></data>`
  put(
    join(dir, 'repodata', 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>` +
      data('primary', primaryHref, primaryGz, primary) +
      data('filelists', filelistsHref, filelists) +
      '</repomd>\n',
  )
  return { dir, packages: pkgs.map((p) => p.href), primaryHref, filelistsHref }
}

export interface SyntheticApt {
  dir: string
  packages: string[]
}

/**
 * `dists/<suite>/Release` with Packages and Packages.gz for each arch (only the first arch's directory is written when `partial`),
 * in each of `components` (default `main`); `unmirrored` components are listed in the Release, with their indexes, but not written.
 */
export const writeAptTree = (
  dir: string,
  options: { suite?: string; archs?: string[]; partial?: boolean; flat?: boolean; components?: string[]; unmirrored?: string[] } = {},
): SyntheticApt => {
  const suite = options.suite ?? 'bookworm'
  const archs = options.archs ?? ['amd64']
  const components = options.components ?? ['main']
  const unmirrored = options.unmirrored ?? []
  const debs = ['pool/main/a/alpha/alpha_1.0_all.deb', 'pool/main/b/beta/beta_2.0_all.deb'].map((f) =>
    options.flat ? f.split('/').pop()! : f,
  )
  const stanzas = debs.map((f, i) => {
    const data = put(join(dir, f), randomBytes(800 + i))
    return `Package: p${i}\nVersion: 1.0\nArchitecture: all\nFilename: ${options.flat ? './' : ''}${f}\nSize: ${data.length}\nSHA256: ${sha256(data)}\nDescription: p${i}\n`
  })
  const packages = Buffer.from(stanzas.join('\n'))
  const releaseDir = options.flat ? dir : join(dir, 'dists', ...suite.split('/'))
  const lines: string[] = []
  for (const component of options.flat ? [''] : [...components, ...unmirrored]) {
    archs.forEach((arch, i) => {
      const sub = options.flat ? '' : `${component}/binary-${arch}/`
      const gz = gzipSync(packages)
      if ((!options.partial || i === 0) && !unmirrored.includes(component)) {
        put(join(releaseDir, `${sub}Packages`), packages)
        put(join(releaseDir, `${sub}Packages.gz`), gz)
      }
      lines.push(` ${sha256(packages)} ${packages.length} ${sub}Packages`, ` ${sha256(gz)} ${gz.length} ${sub}Packages.gz`)
    })
  }
  put(
    join(releaseDir, 'Release'),
    `Suite: ${suite}\nComponents: ${[...components, ...unmirrored].join(' ')}\nArchitectures: ${archs.join(' ')}\nSHA256:\n${lines.join('\n')}\n`,
  )
  return { dir, packages: debs }
}
