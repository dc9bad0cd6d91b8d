/**
 * Every configuration key, declared once: its value schema and default, and
 * beside it what the rest is derived from (src/server/config-keys.ts): the
 * OUTPOST_* environment variable, the command-line flag, which values are
 * paths, and the text of the README table and of config/outpost.example.yaml
 * (`npm run docs:config` writes both; a test holds them to this file).
 */
import { isIP } from 'node:net'
import { z } from 'zod'
import { LOG_FORMATS } from './log-format.js'

export interface ListenAddress {
  host: string
  port: number
}

/** `ADDR:PORT`, `[v6]:PORT`, `:PORT` (all addresses) or `off`. */
export const parseListen = (value: string): ListenAddress | null | string => {
  const v = value.trim()
  if (v === 'off' || v === 'false' || v === '') return null
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v)
  if (!m) return `"${value}" is not ADDR:PORT, [IPv6]:PORT, :PORT or off`
  const port = Number(m[3])
  if (port > 65535) return `port ${port} is out of range`
  const host = m[1] ?? (m[2] || '0.0.0.0')
  return { host, port }
}

/**
 * A loopback host: 127.0.0.0/8, ::1 (also written in full or IPv4-mapped)
 * or `localhost`. Names other than `localhost` are not resolved: they count
 * as reachable from elsewhere.
 */
export const isLoopbackHost = (host: string): boolean => {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost') return true
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h
  if (isIP(v4) === 4) return v4.split('.')[0] === '127'
  return isIP(h) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(h)
}

/** A command-line flag for a key. Lists make it repeatable; enums give it choices. */
export interface FlagSpec {
  /** Long name without the dashes: `registry-root`. */
  name: string
  /** What the value looks like in the help: `dir`, `addr:port|off`. */
  arg: string
  /** Help text when the key's `doc` does not fit a flag (e.g. it names the key). */
  help?: string
  /** The value may be left out: the flag alone means true. */
  optional?: boolean
}

export interface KeyMeta {
  /** One line: the README table, and the flag's help unless `flag.help`. */
  doc: string
  /** Comment lines above the key in the example file (default: `doc`). */
  notes?: string[]
  /** Said after the default in the README table. */
  defaultNote?: string
  /**
   * Relative paths in this value (or in each list entry) are resolved against
   * the config file's folder (or the working directory for env and flags):
   * `whole` value, or the part after `NAME=` / `/PREFIX=` (and an object's `path`).
   */
  paths?: 'whole' | 'after-name'
  flag?: FlagSpec
}

export interface SectionMeta {
  /** Comment lines at the top of the section in the example file. */
  notes?: string[]
}

const KEY_META = new WeakMap<z.ZodTypeAny, KeyMeta>()
const SECTION_META = new WeakMap<z.ZodTypeAny, SectionMeta>()

/** Documents a leaf key of the schema (the schema is returned unchanged). */
const key = <T extends z.ZodTypeAny>(schema: T, meta: KeyMeta): T => {
  KEY_META.set(schema, meta)
  return schema
}

/** Documents a section (a nested object) of the schema. */
const section = <T extends z.ZodTypeAny>(schema: T, meta: SectionMeta): T => {
  SECTION_META.set(schema, meta)
  return schema
}

export const keyMeta = (schema: z.ZodTypeAny): KeyMeta | undefined => KEY_META.get(schema)
export const sectionMeta = (schema: z.ZodTypeAny): SectionMeta | undefined => SECTION_META.get(schema)

const listenSchema = z.union([z.string(), z.null(), z.literal(false)]).transform((v, ctx) => {
  if (v === null || v === false) return null
  const parsed = parseListen(v)
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed })
    return z.NEVER
  }
  return parsed
})

const mappingSchema = z.union([
  z.object({ from: z.string().min(1), to: z.string() }).strict(),
  z.string().transform((v, ctx) => {
    const eq = v.indexOf('=')
    if (eq <= 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not FROM=TO (e.g. registry.k8s.io/=library/)` })
      return z.NEVER
    }
    return { from: v.slice(0, eq), to: v.slice(eq + 1) }
  }),
])

/** `DIR` or `NAME=DIR` for OCI layouts. */
const layoutSchema = z.union([
  z.object({ path: z.string().min(1), name: z.string().optional() }).strict(),
  z
    .string()
    .min(1)
    .transform((v) => {
      const eq = v.indexOf('=')
      return eq > 0 ? { name: v.slice(0, eq), path: v.slice(eq + 1) } : { path: v }
    }),
])

/** `DIR` (mounted at /) or `/PREFIX=DIR`. */
const filesRootSchema = z.union([
  z.object({ path: z.string().min(1), prefix: z.string().default('/') }).strict(),
  z
    .string()
    .min(1)
    .transform((v) => {
      const eq = v.indexOf('=')
      return eq > 0 && v.startsWith('/') ? { prefix: v.slice(0, eq), path: v.slice(eq + 1) } : { prefix: '/', path: v }
    }),
])

/** A DNS name (`*.` allowed in front) or an IP address, for extra certificate names. */
const sanSchema = z
  .string()
  .min(1)
  .refine((v) => isIP(v) !== 0 || /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(v), {
    message: 'must be a DNS name or an IP address',
  })

/** An origin nodes can be given: http(s), a host name or address, an optional port, nothing else. */
const advertiseSchema = z
  .string()
  .min(1)
  .refine(
    (v) => {
      try {
        const u = new URL(v)
        const bare = u.hostname.replace(/^\[|\]$/g, '')
        return (
          (u.protocol === 'http:' || u.protocol === 'https:') &&
          !u.username &&
          !u.password &&
          (u.pathname === '/' || u.pathname === '') &&
          !u.search &&
          !u.hash &&
          !/[?#]/.test(v) &&
          (isIP(bare) !== 0 || /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(bare))
        )
      } catch {
        return false
      }
    },
    { message: 'must be http://HOST[:PORT] or https://HOST[:PORT] (a host name or address, no path)' },
  )

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1'])
const FALSE_WORDS = new Set(['false', 'no', 'off', '0'])

/** true/false from YAML, or from an environment string (`true`, `yes`, `on`, `1` and their opposites). */
const boolSchema = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v
  const word = v.trim().toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not true or false` })
  return z.NEVER
})

/** Whole numbers; the environment hands them over as strings. */
const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

const tlsSchema = z
  .object({
    cert: key(z.string().min(1).nullable().default(null), {
      doc: 'operator-supplied server certificate (PEM); Outpost then makes none',
      notes: ['Operator-supplied server certificate (PEM, leaf first, intermediates may', 'follow) and its key; both or neither.'],
      defaultNote: 'Outpost makes its own',
      paths: 'whole',
      flag: { name: 'tls-cert', arg: 'file', help: 'operator-supplied certificate (PEM); Outpost then makes none' },
    }),
    key: key(z.string().min(1).nullable().default(null), {
      doc: 'the key of `tls.cert` (PEM)',
      notes: [],
      paths: 'whole',
      flag: { name: 'tls-key', arg: 'file', help: 'key for --tls-cert' },
    }),
    ca: key(z.string().min(1).nullable().default(null), {
      doc: 'the CA that signed `tls.cert`, handed to nodes at `/ca.crt` (optional)',
      notes: ['The CA that signed tls.cert, handed to nodes at /ca.crt (optional).'],
      paths: 'whole',
      flag: { name: 'tls-ca', arg: 'file', help: 'CA bundle handed to nodes at /ca.crt with --tls-cert' },
    }),
    extra_sans: key(z.array(sanSchema).default([]), {
      doc: 'extra name or address for the server certificate',
      notes: [
        'Names and addresses added to the server certificate, beside',
        'registry.domains, the host name, every non-loopback address of the host,',
        'localhost, 127.0.0.1 and ::1.',
      ],
      flag: { name: 'san', arg: 'name|ip' },
    }),
    backdate_hours: key(count(0, 24 * 365).default(24), {
      doc: "the certificates' NotBefore is set this far in the past, so nodes whose clocks lag accept them",
    }),
    server_days: key(count(2, 3650).default(825), { doc: 'lifetime of the server certificate' }),
    ca_days: key(count(2, 36500).default(3650), { doc: 'lifetime of the CA' }),
    renew_before_days: key(count(1, 3650).default(30), {
      doc: 'the server certificate is re-issued when it expires within this many days (checked on start, daily, and on SIGHUP)',
    }),
  })
  .strict()

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A whole number from YAML or from an environment string, within bounds. */
const intSchema = (min: number, max: number) =>
  z
    .union([
      z.number(),
      z
        .string()
        .trim()
        .regex(/^-?\d+$/, 'must be a whole number')
        .transform(Number),
    ])
    .pipe(z.number().int('must be a whole number').min(min).max(max))

/**
 * An NTP reference id: up to four ASCII characters (`LOCL`, `GPS`) or an
 * IPv4 address (what servers of stratum 2 and up send, RFC 5905 §7.3).
 */
const refIdSchema = z
  .string()
  .regex(/^(?:[\x21-\x7e]{1,4}|\d{1,3}(?:\.\d{1,3}){3})$/, 'must be 1-4 ASCII characters (e.g. LOCL) or an IPv4 address')

/** One or more platforms, comma-separated: `linux/amd64`, `arm64`, `linux/arm/v7`. */
const platformEntrySchema = z
  .string()
  .regex(
    /^\s*[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}\s*(,\s*[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}\s*)*$/,
    'must be a platform (os/arch[/variant] or arch, e.g. linux/arm64), or several comma-separated',
  )

const LISTEN_ARG = 'addr:port|off'

export const configSchema = z
  .object({
    bundle: key(z.string().min(1).nullable().default(null), {
      doc: 'kubeplay-shaped bundle: DIR/registry, DIR/nginx, DIR/images_origin.yaml',
      notes: [
        'A kubeplay-shaped bundle. Means registry.roots += [DIR/registry],',
        'files.roots += [/=DIR/nginx] and registry.images_origin += [DIR/images_origin.yaml]',
        '(when present), ahead of the lists below.',
      ],
      paths: 'whole',
      flag: { name: 'bundle', arg: 'dir' },
    }),
    allow_missing_roots: key(boolSchema.default(false), {
      doc: 'start even when a configured root (bundle, registry.roots, registry.oci_layouts, registry.images_origin, files.roots) does not exist or cannot be read',
      notes: [
        'A configured root (bundle, registry.roots, registry.oci_layouts,',
        'registry.images_origin, files.roots) that does not exist or cannot be',
        'read stops start-up (exit 2) naming the key and the path. true: start',
        'anyway, log a warning, and serve the root once it appears (/readyz',
        'names it until then): for roots that are filled after Outpost starts.',
      ],
      flag: {
        name: 'allow-missing-roots',
        arg: 'true|false',
        optional: true,
        help: 'start even when a configured root does not exist or cannot be read (served once it appears)',
      },
    }),
    data_dir: key(z.string().min(1).default('/var/lib/outpost'), {
      doc: 'catalog and certificates',
      notes: ['Catalog and certificates live here.'],
      defaultNote: '`./.outpost` in the demo',
      paths: 'whole',
      flag: { name: 'data-dir', arg: 'dir' },
    }),
    log_level: key(z.enum(LOG_LEVELS).default('info'), {
      doc: 'log level',
      notes: ['Log level (debug logs how each registry name was resolved).'],
      flag: { name: 'log-level', arg: 'level' },
    }),
    log: section(
      z
        .object({
          format: key(z.enum(LOG_FORMATS).default('auto'), {
            doc: 'log lines: `pretty` (short lines for people), `json` (JSON lines led by their syslog priority, `<6>{…}`, for journald), or `auto`: pretty on a terminal, JSON otherwise',
            notes: [
              'pretty: one short line per event, for people. json: JSON lines, each led',
              'by its syslog priority (<7> debug, <6> info, <4> warn, <3> error, <2> fatal)',
              'so that `journalctl -p warning -u outpost` shows warnings and worse.',
              'auto: pretty on a terminal, JSON otherwise (a pipe, a file, the journal).',
            ],
            flag: { name: 'log-format', arg: 'format' },
          }),
          access: key(boolSchema.default(true), {
            doc: 'one line per request: method, path, status, bytes, ms, client (and listener, user)',
            notes: [
              'One line per request: method, path, status, bytes, ms, client (and the',
              'listener and user when present); false: none.',
            ],
          }),
        })
        .strict()
        .default({}),
      {
        notes: [
          'Log lines go to stdout at log_level (above). A reload (SIGHUP) applies',
          'log_level and log.access; log.format needs a restart.',
        ],
      },
    ),
    listen: section(
      z
        .object({
          http: key(listenSchema.default('0.0.0.0:8080'), {
            doc: 'plain HTTP listener',
            defaultNote: "80 in the release's /etc/outpost/config.yaml",
            flag: { name: 'http', arg: LISTEN_ARG },
          }),
          https: key(listenSchema.default('0.0.0.0:8443'), {
            doc: 'HTTPS listener',
            defaultNote: "443 in the release's /etc/outpost/config.yaml",
            flag: { name: 'https', arg: LISTEN_ARG },
          }),
          push: key(listenSchema.default('127.0.0.1:5000'), {
            doc: 'push listener (plain HTTP): the whole registry API, writes without credentials; loopback only unless `registry.auth.htpasswd` is set',
            notes: [
              'Push listener (plain HTTP, where kubeplay pushes): the whole registry API,',
              'reads and writes. On a loopback address (127.0.0.0/8, ::1, localhost) it',
              'asks for no credentials; on any other address Outpost starts only when',
              'registry.auth.htpasswd is set, and writes there need its credentials.',
            ],
            flag: { name: 'push', arg: LISTEN_ARG },
          }),
          ntp: key(listenSchema.default('0.0.0.0:123'), {
            doc: 'SNTP listener (UDP)',
            notes: ['SNTP listener (UDP); off with a log line when it cannot bind.'],
            flag: { name: 'ntp', arg: LISTEN_ARG },
          }),
        })
        .strict()
        .default({}),
      { notes: ['ADDR:PORT, [IPv6]:PORT, :PORT (all addresses) or off.'] },
    ),
    registry: z
      .object({
        roots: key(z.array(z.string().min(1)).default([]), {
          doc: 'registry:2 root',
          notes: [
            'registry:2 roots (the folder holding docker/registry/v2), consulted in',
            'order; a repository present in several is served from the first.',
          ],
          paths: 'whole',
          flag: { name: 'registry-root', arg: 'dir' },
        }),
        oci_layouts: key(z.array(layoutSchema).default([]), {
          doc: 'OCI image layout',
          notes: [
            'OCI image layouts: "DIR" (repository named after the folder) or "NAME=DIR",',
            'or {path: DIR, name: NAME}. Consulted after the registry:2 roots.',
          ],
          paths: 'after-name',
          flag: { name: 'oci-layout', arg: '[name=]dir' },
        }),
        images_origin: key(z.array(z.string().min(1)).default([]), {
          doc: 'images_origin.yaml upstream name map',
          notes: ['kubeplay images_origin.yaml files: a list of {src: UPSTREAM, dest: STORED}.'],
          paths: 'whole',
          flag: { name: 'images-origin', arg: 'file' },
        }),
        mappings: key(z.array(mappingSchema).default([]), {
          doc: 'prefix rules from upstream names to stored names, tried after `images_origin`',
          notes: [
            'Prefix rules from upstream names to stored names, tried after',
            'images_origin: "FROM=TO" or {from: FROM, to: TO}. Examples:',
            '  - registry.k8s.io/=library/',
            '  - docker.io/library/=library/',
          ],
        }),
        domains: key(
          z
            .array(z.string().regex(/^[a-zA-Z0-9.-]+$/, 'must be a DNS name'))
            .min(1)
            .default(['outpost.registry.local']),
          {
            doc: 'names the registry answers to (certificate names, node set-up)',
            flag: { name: 'domain', arg: 'name', help: 'registry domain' },
          },
        ),
        push_root: key(z.string().min(1).nullable().default(null), {
          doc: 'folder that pushed images are written to (and served from)',
          notes: ['Folder that pushed images are written to (and served from); by default', '<data_dir>/registry.'],
          defaultNote: 'meaning `<data_dir>/registry`',
          paths: 'whole',
        }),
        delete: key(boolSchema.default(false), {
          doc: 'clients allowed to write may also delete manifests, tags and blobs',
          notes: ['Clients allowed to write may also delete manifests, tags and blobs.'],
        }),
        upload_ttl_s: key(intSchema(60, 30 * 86_400).default(86_400), {
          doc: 'a blob upload left unfinished this long (seconds) is discarded',
        }),
        auth: section(
          z
            .object({
              htpasswd: key(z.string().min(1).nullable().default(null), {
                doc: 'htpasswd file (bcrypt, `htpasswd -B`): the HTTP and HTTPS listeners then take writes from these users',
                notes: [
                  'htpasswd file of bcrypt entries (htpasswd -B, as registry:2 reads). With',
                  'it, the HTTP and HTTPS listeners take writes with Basic credentials of',
                  'these users (401 otherwise); reads stay anonymous. Without it they are',
                  'read-only (405 on writes). Re-read on SIGHUP and when the file changes.',
                ],
                defaultNote: 'HTTP and HTTPS are read-only',
                paths: 'whole',
                flag: { name: 'htpasswd', arg: 'file' },
              }),
            })
            .strict()
            .default({}),
          { notes: ['Who may write through the HTTP and HTTPS listeners.'] },
        ),
      })
      .strict()
      .default({}),
    files: z
      .object({
        roots: key(z.array(filesRootSchema).default([]), {
          doc: 'file root mounted at a URL prefix',
          notes: ['File roots: "DIR" (served at /) or "/PREFIX=DIR", or {path: DIR, prefix: /PREFIX}.'],
          defaultNote: 'plus `BUNDLE/nginx` at `/`',
          paths: 'after-name',
          flag: { name: 'files-root', arg: '[/prefix=]dir' },
        }),
        symlinks: key(z.enum(['inside', 'never']).default('inside'), {
          doc: 'which symlinks in a file root are followed: `inside` (those whose target stays in the root) or `never`',
          notes: ['Symlinks inside a file root: "inside" follows those whose target stays in', 'the root; "never" follows none.'],
        }),
      })
      .strict()
      .default({}),
    catalog: section(
      z
        .object({
          max_watches: key(intSchema(1, 10_000_000).default(16_384), {
            doc: 'at most this many folders are watched (one inotify watch each) over every store and file root; past it, what is left unwatched is scanned again every `catalog.rescan_interval_s`',
            notes: [
              'The catalog watches every folder of the stores and file roots (one inotify',
              'watch each). Past this many, Outpost logs it once and scans the stores and',
              'roots with unwatched folders again every rescan_interval_s instead.',
            ],
          }),
          rescan_interval_s: key(intSchema(1, 86_400).default(60), {
            doc: 'how often a store or file root with unwatched folders is scanned again',
          }),
        })
        .strict()
        .default({}),
      { notes: ['The catalog behind /inventory and /readyz follows the disk by watching it.'] },
    ),
    tls: section(tlsSchema.default({}), {
      notes: [
        'Certificates are made by Outpost under <data_dir>/tls/ (ca.crt, ca.key,',
        'server.crt, server.key) unless an operator supplies them here.',
      ],
    }),
    ntp: section(
      z
        .object({
          stratum: key(intSchema(1, 15).default(10), {
            doc: 'the stratum nodes see, 1-15',
            notes: ['Stratum 1-15 as nodes will see it.'],
            defaultNote: "like chrony's `local stratum 10`",
          }),
          ref_id: key(refIdSchema.default('LOCL'), {
            doc: 'reference id: 1-4 ASCII characters (LOCL, GPS) or an IPv4 address',
          }),
        })
        .strict()
        .default({}),
      { notes: ["The SNTP responder (listen.ntp) serves the local clock, like chrony's", '"local stratum 10".'] },
    ),
    nodes: z
      .object({
        offset_threshold_ms: key(intSchema(1, 86_400_000).default(500), {
          doc: "GET /nodes flags a node whose clock is further than this from Outpost's",
          notes: ["GET /nodes flags a node whose clock is further than this from Outpost's", '(by its check-in or its own NTP report).'],
        }),
        stale_after_s: key(intSchema(1, 10 * 365 * 86_400).default(86_400), {
          doc: 'GET /nodes flags a node that has not checked in for this long',
        }),
      })
      .strict()
      .default({}),
    server: z
      .object({
        advertise: key(z.array(advertiseSchema).default([]), {
          doc: 'URLs nodes are given in set-up files (`http://10.0.0.1:8080`); without them, the address a node asked on, refused unless it is one of Outpost’s names or addresses',
          notes: [
            'The URLs nodes are given in their set-up files (bootstrap.sh, package',
            'sources, chrony, containerd): http(s)://HOST[:PORT], no path. A request',
            'on one of them gets that one, any other request the first. Empty: the',
            "address the node asked on, which must be one of Outpost's own names or",
            'addresses (registry.domains, host name, interface addresses,',
            'tls.extra_sans); another Host gets 421 for /setup/.',
          ],
          defaultNote: "the Host asked on, when it is Outpost's",
          flag: { name: 'advertise', arg: 'url' },
        }),
        sendfile: key(z.enum(['auto', 'off']).default('auto'), {
          doc: 'large file and blob bodies on plain HTTP: `auto` sends them with sendfile (the outpost-sendfile addon, when built), `off` copies them through JavaScript',
          notes: [
            'Large file and blob bodies (over 256 KiB) on plain HTTP. auto: sent by',
            'sendfile(2) from the page cache to the socket, through the outpost-sendfile',
            'addon that npm ci builds and the release carries (the start-up log says',
            'whether it is in use); without it, and always over HTTPS, they are copied',
            'through JavaScript. off: always copied through JavaScript.',
          ],
        }),
      })
      .strict()
      .default({}),
    requirements: section(
      z
        .object({
          images: key(z.array(z.string().min(1)).default([]), {
            doc: 'image list the cluster needs: kubespray `images.list` or `kubeadm config images list` output, one reference per line',
            paths: 'whole',
            flag: { name: 'images', arg: 'file', help: 'image list: kubespray images.list or kubeadm config images list output' },
          }),
          files: key(z.array(z.string().min(1)).default([]), {
            doc: 'file list the cluster needs: kubespray `files.list`, one URL per line',
            paths: 'whole',
            flag: { name: 'files', arg: 'file', help: 'file URL list: kubespray files.list' },
          }),
          packages: key(z.array(z.string().min(1)).default([]), {
            doc: 'OS package names the cluster needs, one or more per line; `[apt]`, `[yum]` (or `[debian]`, `[rhel]`, …) lines name the family of the names below them',
            paths: 'whole',
            flag: { name: 'packages', arg: 'file', help: 'package name list ([apt] / [yum] sections)' },
          }),
          platforms: key(z.array(platformEntrySchema).default([]), {
            doc: 'platforms every required image must have (`linux/amd64`, `arm64`), beside the architectures of the nodes that checked in',
            flag: {
              name: 'platforms',
              arg: 'list',
              help: 'platforms every required image must have, comma-separated (linux/amd64,linux/arm64)',
            },
          }),
        })
        .strict()
        .default({}),
      {
        notes: [
          'What the cluster needs. `outpost check` compares the bundle with it, and so',
          'does /readyz when any of these is set: every image whole and for every',
          'platform needed (these, plus the architecture of every node that checked',
          'in; every image served is held to them when no images list is given),',
          'every file served (files/HOST/PATH, HOST/PATH or PATH under a root), every',
          'package in the yum or apt trees. Lists are read again at each check.',
        ],
      },
    ),
  })
  .strict()
