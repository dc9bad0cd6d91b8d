/** Content types by file extension, for the file roots. */

const TYPES: Record<string, string> = {
  rpm: 'application/x-rpm',
  deb: 'application/vnd.debian.binary-package',
  udeb: 'application/vnd.debian.binary-package',
  xml: 'application/xml',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  xz: 'application/x-xz',
  zst: 'application/zstd',
  bz2: 'application/x-bzip2',
  tar: 'application/x-tar',
  zip: 'application/zip',
  json: 'application/json',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  sha256: 'text/plain; charset=utf-8',
  sha512: 'text/plain; charset=utf-8',
  sha1: 'text/plain; charset=utf-8',
  md5: 'text/plain; charset=utf-8',
  repo: 'text/plain; charset=utf-8',
  list: 'text/plain; charset=utf-8',
  sources: 'text/plain; charset=utf-8',
  conf: 'text/plain; charset=utf-8',
  cfg: 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  sh: 'text/x-shellscript; charset=utf-8',
  asc: 'application/pgp-signature',
  sig: 'application/pgp-signature',
  gpg: 'application/pgp-keys',
  key: 'application/pgp-keys',
  pem: 'application/x-pem-file',
  crt: 'application/x-x509-ca-cert',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  ico: 'image/x-icon',
  iso: 'application/x-iso9660-image',
}

/** apt's index files have no extension but are text. */
const TEXT_NAMES = new Set(['Release', 'InRelease', 'Packages', 'Sources', 'Contents', 'Index'])

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

export const contentTypeFor = (fileName: string): string => {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1)
  if (TEXT_NAMES.has(base)) return 'text/plain; charset=utf-8'
  const dot = base.lastIndexOf('.')
  if (dot <= 0) return DEFAULT_CONTENT_TYPE
  return TYPES[base.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE
}
