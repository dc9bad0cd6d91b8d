/**
 * Single byte-range parsing and resolution (RFC 9110 §14).
 *
 * Parsing and resolution are separate steps so that a 416 is decided before
 * any file is opened: `parseByteRange` looks only at the header text,
 * `resolveByteRange` applies it to a representation of known size.
 */

export type ByteRangeSpec =
  { type: 'bounded'; start: number; end: number } | { type: 'open-ended'; start: number } | { type: 'suffix'; length: number }

/** Outcome of applying a Range header to a representation of `size` bytes. */
export type RangeDecision = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' }

const DIGITS = /^\d{1,15}$/

/**
 * Parses a `Range` header value. Returns `undefined` for anything that is not
 * a single, syntactically valid `bytes=` range: RFC 9110 §14.2 lets a server
 * ignore a Range it does not understand (and multiple ranges, which we do not
 * serve as multipart) and answer 200 with the whole representation.
 */
export const parseByteRange = (header: string | undefined | null): ByteRangeSpec | undefined => {
  if (!header) return undefined
  const eq = header.indexOf('=')
  if (eq < 0) return undefined
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined
  const set = header.slice(eq + 1).trim()
  if (set.includes(',')) return undefined
  const dash = set.indexOf('-')
  if (dash < 0) return undefined
  const first = set.slice(0, dash).trim()
  const last = set.slice(dash + 1).trim()
  if (first === '') {
    if (!DIGITS.test(last)) return undefined
    return { type: 'suffix', length: Number(last) }
  }
  if (!DIGITS.test(first)) return undefined
  const start = Number(first)
  if (last === '') return { type: 'open-ended', start }
  if (!DIGITS.test(last)) return undefined
  const end = Number(last)
  if (end < start) return undefined
  return { type: 'bounded', start, end }
}

/** Applies a parsed range to a size (RFC 9110 §14.1.1, §15.5.17). */
export const resolveByteRange = (spec: ByteRangeSpec | undefined, size: number): RangeDecision => {
  if (!spec) return { kind: 'full' }
  switch (spec.type) {
    case 'suffix':
      // A suffix of zero length is unsatisfiable; a suffix longer than the
      // representation selects all of it.
      if (spec.length === 0 || size === 0) return { kind: 'unsatisfiable' }
      return { kind: 'partial', start: Math.max(0, size - spec.length), end: size - 1 }
    case 'open-ended':
      if (spec.start >= size) return { kind: 'unsatisfiable' }
      return { kind: 'partial', start: spec.start, end: size - 1 }
    case 'bounded':
      if (spec.start >= size) return { kind: 'unsatisfiable' }
      return { kind: 'partial', start: spec.start, end: Math.min(spec.end, size - 1) }
  }
}

export const contentRange = (start: number, end: number, size: number): string => `bytes ${start}-${end}/${size}`

export const unsatisfiedRange = (size: number): string => `bytes */${size}`
