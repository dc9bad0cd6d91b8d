/**
 * The Accept header (RFC 9110 §12.5.1), parsed in one place for every
 * router: the registry's manifest negotiation reads the media types named,
 * directory listings choose HTML or JSON, and the nodes and inventory
 * endpoints choose text or JSON.
 */

export interface MediaRange {
  /** Lower case, without parameters: `text/plain`, `text/*`, `*\/*`. */
  type: string
  /** 0 to 1; 1 when not given. */
  q: number
}

/**
 * The media ranges in the order the client sent them. Clients send several
 * header lines (skopeo, docker) or one comma list (containerd); Node joins
 * repeated Accept lines with ", ", so both arrive as one list.
 */
export const parseAccept = (header: string | readonly string[] | null | undefined): MediaRange[] => {
  if (!header) return []
  const joined = typeof header === 'string' ? header : header.join(',')
  const out: MediaRange[] = []
  for (const part of joined.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim())
    if (!type) continue
    let q = 1
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/i.exec(p)
      if (m) q = Math.min(1, Math.max(0, Number(m[1]) || 0))
    }
    out.push({ type: type.toLowerCase(), q })
  }
  return out
}

/**
 * The media types named, in order, without parameters or q. The registry
 * reads Accept this way (as registry:2 does): which manifest types a client
 * names, not how much it wants each.
 */
export const acceptedTypes = (header: string | readonly string[] | null | undefined): string[] => parseAccept(header).map((r) => r.type)

export interface PreferenceOptions {
  /**
   * Who breaks a tie in q and specificity: `offers` (the default) takes the
   * first of the offers (the server's preference), `header` the one the
   * client named first.
   */
  ties?: 'offers' | 'header'
  /**
   * false: only offers the client names exactly take part; `*\/*` and
   * `type/*` leave the choice to the caller (undefined comes back).
   */
  wildcards?: boolean
}

/**
 * The offer the client prefers, or undefined when it sent no Accept or
 * accepts none of them. An offer takes the q of the most specific range that
 * matches it (`text/plain` before `text/*` before `*\/*`); the highest q
 * wins; between equal q, the offer named more specifically; then `ties`.
 */
export const preferredType = <T extends string>(
  header: string | readonly string[] | null | undefined,
  offers: readonly T[],
  options: PreferenceOptions = {},
): T | undefined => {
  const ranges = parseAccept(header)
  if (ranges.length === 0) return undefined
  const wildcards = options.wildcards ?? true
  let best: { offer: T; q: number; specificity: number; position: number } | undefined
  for (const offer of offers) {
    const type = offer.toLowerCase()
    const major = type.split('/', 1)[0]
    let q = 0
    let specificity = -1
    let position = Infinity
    ranges.forEach((r, i) => {
      const s = r.type === type ? 2 : r.type === `${major}/*` ? 1 : r.type === '*/*' ? 0 : -1
      if (s > specificity) {
        specificity = s
        q = r.q
        position = i
      }
    })
    if (q <= 0 || (!wildcards && specificity < 2)) continue
    const better =
      !best ||
      q > best.q ||
      (q === best.q && specificity > best.specificity) ||
      (q === best.q && specificity === best.specificity && options.ties === 'header' && position < best.position)
    if (better) best = { offer, q, specificity, position }
  }
  return best?.offer
}

/** curl and wget: people at a terminal, who send `*\/*`. */
export const isTerminalClient = (userAgent: string | null | undefined): boolean => /^(curl|wget)\//i.test(userAgent ?? '')

export type ReplyFormat = 'text' | 'json'

/**
 * Text or JSON, as the client asks: `?format=` decides when given (`text` or
 * `txt`, `json`); then an Accept that names text/plain or application/json
 * (the higher q; on a tie the one named first); else `fallback`.
 */
export const replyFormat = (format: string | undefined, accept: string | undefined, fallback: ReplyFormat): ReplyFormat => {
  if (format === 'json') return 'json'
  if (format === 'text' || format === 'txt') return 'text'
  const named = preferredType(accept, ['application/json', 'text/plain'], { ties: 'header', wildcards: false })
  if (named) return named === 'text/plain' ? 'text' : 'json'
  return fallback
}

/**
 * Plain text for people, JSON for programs: replyFormat, where curl and
 * wget, which send `*\/*`, get text and anyone else JSON. Pass no
 * `userAgent` where programs use curl too (check-ins).
 */
export const wantsText = (format: string | undefined, accept: string | undefined, userAgent: string | undefined): boolean =>
  replyFormat(format, accept, isTerminalClient(userAgent) ? 'text' : 'json') === 'text'
