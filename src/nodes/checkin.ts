/**
 * Node check-in: what a node reports (`POST /nodes/checkin`), how it is
 * validated, and how its clock offset is estimated.
 *
 * Only `hostname` is required. Unknown fields are dropped, not refused, so
 * an older Outpost accepts a newer bootstrap.sh; `null` counts as absent, as
 * shell scripts find it easiest to send.
 *
 * Offsets are "node clock − Outpost clock" in milliseconds: positive means
 * the node is ahead. From the check-in alone the estimate is
 * (node send time + half its clock's resolution) − Outpost receive time, so
 * it also carries the one-way network delay (small on a LAN). `ntpOffsetMs`
 * is the node's own figure against its NTP source, same sign (chronyc's
 * "System time … fast of NTP time" is positive).
 */
import { isIP } from 'node:net'
import { z } from 'zod'

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
/** Kubernetes label key: optional DNS prefix, then a name of up to 63 characters. */
const LABEL_KEY = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/
/** Label values: plain words, lists (`kube_control_plane,etcd`), no quotes or control characters. */
const LABEL_VALUE = /^[A-Za-z0-9._,:/=@+ -]{0,256}$/
/** An Ansible group name. */
export const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Labels whose value lists the node's inventory groups. */
export const GROUP_LABELS = ['role', 'roles', 'groups'] as const

const printable = (max: number) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    .regex(/^[\x20-\x7e]*$/, 'printable ASCII only')

const finite = (what: string) => z.number({ invalid_type_error: `${what} must be a number` }).finite(`${what} must be a finite number`)

/** Splits a group label value: commas and/or spaces. */
export const splitGroups = (value: string): string[] => value.split(/[\s,]+/).filter(Boolean)

export const checkinSchema = z.object({
  hostname: z
    .string({ required_error: 'hostname is required', invalid_type_error: 'hostname must be a string' })
    .trim()
    .toLowerCase()
    .regex(HOSTNAME, 'hostname must be a DNS host name (letters, digits, hyphens and dots, at most 253 characters)'),
  machineId: printable(128).nullish(),
  addresses: z
    .array(
      z
        .string()
        .trim()
        // `ip -o addr` prints 10.0.0.11/24: the prefix length is not part of the address.
        .transform((a) => a.replace(/\/\d{1,3}$/, ''))
        .refine((a) => isIP(a) !== 0, 'not an IP address'),
    )
    .max(64, 'at most 64 addresses')
    .nullish(),
  os: z
    .object({
      id: z
        .string()
        .regex(/^[a-z0-9._-]{1,64}$/, 'an os-release ID: lower-case letters, digits, ".", "_", "-"')
        .nullish(),
      version: printable(64).nullish(),
      name: printable(128).nullish(),
    })
    .nullish(),
  arch: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'an architecture name such as amd64')
    .nullish(),
  kernel: printable(128).nullish(),
  runtime: z.object({ name: printable(64).nullish(), version: printable(64).nullish() }).nullish(),
  clockMs: finite('clockMs').positive('clockMs must be Unix milliseconds').nullish(),
  /** Resolution of clockMs: 1 for `date +%s%3N`, 1000 for `date +%s`. */
  clockPrecisionMs: finite('clockPrecisionMs').min(0).max(60_000).nullish(),
  ntpOffsetMs: finite('ntpOffsetMs').min(-1e12).max(1e12).nullish(),
  labels: z
    .record(
      z.string().regex(LABEL_KEY, 'label keys are Kubernetes label keys ([prefix/]name)'),
      z.string().regex(LABEL_VALUE, 'label values are letters, digits and . _ , : / = @ + - or spaces, at most 256'),
    )
    .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels')
    .superRefine((labels, ctx) => {
      for (const key of GROUP_LABELS) {
        const value = labels[key]
        if (value === undefined) continue
        for (const group of splitGroups(value)) {
          if (!GROUP_NAME.test(group))
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [key],
              message: `"${group}" is not an inventory group name (letters, digits and _, not starting with a digit)`,
            })
        }
      }
    })
    .nullish(),
})

export type CheckinInput = z.input<typeof checkinSchema>
export type Checkin = z.output<typeof checkinSchema>

export interface CheckinIssue {
  /** The field, e.g. `hostname`, `addresses[1]`, `labels.role`. */
  path: string
  message: string
}

export type CheckinParse = { ok: true; value: Checkin } | { ok: false; issues: CheckinIssue[] }

const pathOf = (path: (string | number)[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')

/** Validates a parsed JSON body. */
export const parseCheckin = (body: unknown): CheckinParse => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return {
      ok: false,
      issues: [
        {
          path: '',
          message: `the body must be a JSON object, not ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}`,
        },
      ],
    }
  }
  const result = checkinSchema.safeParse(body)
  if (result.success) return { ok: true, value: result.data }
  return {
    ok: false,
    issues: result.error.issues.map((i) => ({
      path: pathOf(i.path),
      // zod's default for a missing key reads "Required".
      message: i.message === 'Required' ? `${pathOf(i.path)} is required` : i.message,
    })),
  }
}

export interface OffsetEstimate {
  /** Node − Outpost, ms. */
  offsetMs: number
  /** ± this much from the node clock's resolution. */
  uncertaintyMs: number
}

/**
 * Offset from one check-in: the node stamped `clockMs` just before sending;
 * Outpost stamped `receivedMs` on arrival. A clock read to the second
 * (`date +%s`) is on average half a second behind the true time, so half the
 * resolution is added and reported as the uncertainty.
 */
export const checkinOffset = (clockMs: number, receivedMs: number, precisionMs = 0): OffsetEstimate => ({
  offsetMs: clockMs + precisionMs / 2 - receivedMs,
  uncertaintyMs: precisionMs / 2,
})

/** The inventory groups a node asked for through its labels. */
export const groupsOf = (labels: Readonly<Record<string, string>>): string[] => {
  const out: string[] = []
  for (const key of GROUP_LABELS) {
    const value = labels[key]
    if (value === undefined) continue
    for (const g of splitGroups(value)) if (!out.includes(g)) out.push(g)
  }
  return out
}
