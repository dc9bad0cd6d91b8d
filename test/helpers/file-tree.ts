/**
 * A file root for HTTP tests, with a secret beside it and symlinks that try
 * to leave it:
 *
 *   base/secret.txt               must never be served
 *   base/root-2/x.txt             sibling whose name starts with "root"
 *   base/root/                    the root at /
 *     a.txt  empty.txt  big.bin (1 MiB + 17)  kubeadm (no extension)
 *     "sp ace.txt"  "100%.txt"  "hash#.txt"  "é ü 日本.txt"  "q?x.txt"
 *     types/…                     one file per content type
 *     site/index.html  site/other.txt
 *     list/{b.txt, a.txt, c/, .hidden}
 *     healthz/                    hidden by the built-in /healthz
 *     v2/x                        hidden by the registry API
 *     inside-link → a.txt         followed (symlinks: inside)
 *     inside-dir → list           followed
 *     escape → ../secret.txt      refused
 *     escape-dir → ..             refused
 *     abs-escape → /etc/passwd    refused
 *     sibling → ../root-2/x.txt   refused (not inside, despite the prefix)
 *     broken → nowhere            404
 *   base/extra/                   a second root at /extra
 *     x.txt
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

export const SECRET = 'TOP-SECRET-5f2c9a'

export const SPECIAL_NAMES = ['sp ace.txt', '100%.txt', 'hash#.txt', 'é ü 日本.txt', 'q?x.txt', "it's (1) [a]+b=c&d;e,f.txt"]

export const CONTENT_TYPES: Record<string, string> = {
  'x.rpm': 'application/x-rpm',
  'x.deb': 'application/vnd.debian.binary-package',
  'repomd.xml': 'application/xml',
  'x.gz': 'application/gzip',
  'x.tar.gz': 'application/gzip',
  'x.tgz': 'application/gzip',
  'x.xz': 'application/x-xz',
  'x.zst': 'application/zstd',
  'x.json': 'application/json',
  'x.sha256': 'text/plain; charset=utf-8',
  'x.repo': 'text/plain; charset=utf-8',
  'x.asc': 'application/pgp-signature',
  'x.gpg': 'application/pgp-keys',
  'x.txt': 'text/plain; charset=utf-8',
  'x.tar': 'application/x-tar',
  Release: 'text/plain; charset=utf-8',
  InRelease: 'text/plain; charset=utf-8',
  Packages: 'text/plain; charset=utf-8',
  kubeadm: 'application/octet-stream',
  'x.weird': 'application/octet-stream',
}

export interface FileTree {
  base: string
  root: string
  extra: string
  big: Buffer
}

export const buildFileTree = (base: string): FileTree => {
  const root = join(base, 'root')
  const extra = join(base, 'extra')
  for (const d of [
    root,
    extra,
    join(base, 'root-2'),
    join(root, 'types'),
    join(root, 'site'),
    join(root, 'list', 'c'),
    join(root, 'healthz'),
    join(root, 'v2'),
  ]) {
    mkdirSync(d, { recursive: true })
  }
  writeFileSync(join(base, 'secret.txt'), `${SECRET}\n`)
  writeFileSync(join(base, 'root-2', 'x.txt'), `${SECRET} sibling\n`)
  writeFileSync(join(root, 'a.txt'), 'hello, world\n')
  writeFileSync(join(root, 'empty.txt'), '')
  const big = randomBytes(1024 * 1024 + 17)
  writeFileSync(join(root, 'big.bin'), big)
  writeFileSync(join(root, 'kubeadm'), 'ELF pretend\n')
  for (const name of SPECIAL_NAMES) writeFileSync(join(root, name), `content of ${name}\n`)
  for (const name of Object.keys(CONTENT_TYPES)) writeFileSync(join(root, 'types', name), name)
  writeFileSync(join(root, 'site', 'index.html'), '<h1>site</h1>\n')
  writeFileSync(join(root, 'site', 'other.txt'), 'other\n')
  writeFileSync(join(root, 'list', 'b.txt'), 'bb\n')
  writeFileSync(join(root, 'list', 'a.txt'), 'a\n')
  writeFileSync(join(root, 'list', '.hidden'), 'hidden\n')
  writeFileSync(join(root, 'healthz', 'x'), 'hidden by /healthz\n')
  writeFileSync(join(root, 'v2', 'x'), 'hidden by /v2\n')
  symlinkSync('a.txt', join(root, 'inside-link'))
  symlinkSync('list', join(root, 'inside-dir'))
  symlinkSync('../secret.txt', join(root, 'escape'))
  symlinkSync('..', join(root, 'escape-dir'))
  symlinkSync('/etc/passwd', join(root, 'abs-escape'))
  symlinkSync('../root-2/x.txt', join(root, 'sibling'))
  symlinkSync('nowhere', join(root, 'broken'))
  writeFileSync(join(extra, 'x.txt'), 'extra\n')
  return { base, root, extra, big }
}

/**
 * Request paths that try to reach base/secret.txt (or anything outside the
 * root) in every spelling we know. Each must be answered 400 or 404, with no
 * byte of the secret.
 */
export const HOSTILE_PATHS: string[] = [
  '/../secret.txt',
  '/a/../../secret.txt',
  '/./../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/%2e%2E/secret.txt',
  '/.%2e/secret.txt',
  '/%2e./secret.txt',
  '/%252e%252e/secret.txt',
  '/%252E%252E/secret.txt',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/%2e%2e%2fsecret.txt',
  '/list%2f..%2f..%2fsecret.txt',
  '/..%252fsecret.txt',
  '/..\\secret.txt',
  '/%2e%2e%5csecret.txt',
  '/..%5csecret.txt',
  '/..%5Csecret.txt',
  '/%5c..%5csecret.txt',
  '/a.txt%00.html',
  '/%00',
  '/..%00/secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/%uff0e%uff0e/secret.txt',
  '/%ff',
  '/' + 'a'.repeat(300),
  '/' + 'a/'.repeat(2100),
  '/escape',
  '/escape-dir/secret.txt',
  '/escape-dir/',
  '/abs-escape',
  '/sibling',
  '/broken',
  '//../secret.txt',
  '/.../secret.txt',
  '/list/../../secret.txt',
  '/inside-dir/../../secret.txt',
  'http://evil/../secret.txt',
  '/%0a',
  '/a.txt%0d%0aX-Injected:%201',
]
