/**
 * The users who may write, from an htpasswd file as registry:2 reads it
 * (distribution: registry/auth/htpasswd/htpasswd.go): one `user:hash` a line,
 * blank lines and `#` comments skipped, the first `:` ends the user name.
 * Only bcrypt hashes are accepted (`$2y$` as `htpasswd -B` writes them, `$2a$`,
 * `$2b$`): registry:2 would take any other kind and then never match it, so
 * here such a line stops start-up, naming the file and the line.
 *
 * A bcrypt check costs milliseconds to tens of milliseconds of CPU, and a push
 * sends a request per blob and chunk with the same credentials: a success is
 * remembered for a while, keyed by an HMAC of user and password under a key
 * made at start-up (never the password itself), in a small bounded map.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync, stat, statSync, type Stats } from 'node:fs'
import bcrypt from 'bcryptjs'

export class HtpasswdError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HtpasswdError'
  }
}

/** Checks a user's password; what the access middleware needs of an htpasswd file. */
export interface CredentialCheck {
  verify(user: string, password: string): Promise<boolean>
}

/** `$2y$05$` + 22 characters of salt + 31 of hash, in bcrypt's base64 alphabet. */
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/

const hashKind = (hash: string): string => {
  if (hash.startsWith('$apr1$')) return 'an Apache MD5 ($apr1$) hash'
  if (hash.startsWith('{SHA}')) return 'a SHA-1 ({SHA}) hash'
  if (hash.startsWith('$1$')) return 'an MD5-crypt ($1$) hash'
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return 'a SHA-crypt ($5$/$6$) hash'
  if (/^\$2[aby]\$/.test(hash)) return 'a malformed bcrypt hash'
  if (hash === '') return 'an empty hash'
  return 'not a bcrypt hash (crypt, or a plain password?)'
}

/** The users of an htpasswd text, user → bcrypt hash. Errors name `file` and the line, never a hash. */
export const parseHtpasswd = (text: string, file: string): Map<string, string> => {
  const users = new Map<string, string>()
  const firstLine = new Map<string, number>()
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    const at = `${file}:${i + 1}`
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon <= 0) throw new HtpasswdError(`${at}: not USER:HASH`)
    const user = line.slice(0, colon)
    const hash = line.slice(colon + 1)
    const bcryptHash = BCRYPT_HASH.exec(hash)
    if (!bcryptHash) {
      throw new HtpasswdError(
        `${at}: user "${user}": ${hashKind(hash)}; only bcrypt entries are accepted, as registry:2 does (make them with htpasswd -B)`,
      )
    }
    const cost = Number(bcryptHash[1])
    if (cost < 4 || cost > 31) throw new HtpasswdError(`${at}: user "${user}": bcrypt cost ${cost} is outside 4-31`)
    if (firstLine.has(user)) throw new HtpasswdError(`${at}: user "${user}" again (first on line ${firstLine.get(user)})`)
    firstLine.set(user, i + 1)
    users.set(user, hash)
  }
  return users
}

const readUsers = (file: string): Map<string, string> => {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new HtpasswdError(`${file}: cannot read the htpasswd file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseHtpasswd(text, file)
}

/**
 * Compared against when the user is unknown, so that an unknown user costs
 * as much as a wrong password (cost 5, `htpasswd -B`'s default).
 */
const UNKNOWN_USER_HASH = '$2y$05$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC'

export type HtpasswdReload = { ok: true; users: number } | { ok: false; error: string }

export interface HtpasswdOptions {
  /** How long a successful check is remembered (default 60 s). */
  cacheMs?: number
  /** How many successful checks are remembered at most (default 256). */
  cacheEntries?: number
  now?: () => number
  /** The bcrypt comparison (tests count its calls). */
  compare?: (password: string, hash: string) => Promise<boolean>
}

/** What tells one version of a file from another: replaced (inode), rewritten (time, size). */
interface FileIdentity {
  ino: number
  mtimeMs: number
  size: number
}

const fileIdentity = (st: Stats): FileIdentity => ({ ino: st.ino, mtimeMs: st.mtimeMs, size: st.size })

const identityOf = (file: string): FileIdentity | null => {
  try {
    return fileIdentity(statSync(file))
  } catch {
    return null
  }
}

const sameFile = (st: Stats, known: FileIdentity | null): boolean =>
  known !== null && st.ino === known.ino && st.mtimeMs === known.mtimeMs && st.size === known.size

export class Htpasswd implements CredentialCheck {
  readonly file: string
  private users: Map<string, string>
  private readonly cacheMs: number
  private readonly cacheEntries: number
  private readonly now: () => number
  private readonly compare: (password: string, hash: string) => Promise<boolean>
  private readonly key = randomBytes(32)
  /** HMAC of user and password → when the success expires. Insertion order is age. */
  private readonly remembered = new Map<string, number>()
  /** Checks in flight, so that parallel requests with the same credentials share one bcrypt run. */
  private readonly inFlight = new Map<string, Promise<boolean>>()
  /** Bumped on every reload: a check started before it is not remembered. */
  private generation = 0
  /** The file as it was when last read (taken before reading: a change in between is read again). */
  private readStat: FileIdentity | null

  private constructor(file: string, users: Map<string, string>, readStat: FileIdentity | null, options: HtpasswdOptions) {
    this.file = file
    this.users = users
    this.readStat = readStat
    this.cacheMs = options.cacheMs ?? 60_000
    this.cacheEntries = options.cacheEntries ?? 256
    this.now = options.now ?? Date.now
    this.compare = options.compare ?? ((password, hash) => bcrypt.compare(password, hash))
  }

  /** Reads and checks the file; throws HtpasswdError naming the file (and line) when it is unusable. */
  static load(file: string, options: HtpasswdOptions = {}): Htpasswd {
    const before = identityOf(file)
    return new Htpasswd(file, readUsers(file), before, options)
  }

  get userCount(): number {
    return this.users.size
  }

  /** Reads the file again. When it is unusable now, the users read before stay in force. */
  reload(): HtpasswdReload {
    let users: Map<string, string>
    const before = identityOf(this.file)
    try {
      users = readUsers(this.file)
    } catch (err) {
      return { ok: false, error: (err as Error).message }
    }
    this.users = users
    this.readStat = before
    this.generation++
    this.remembered.clear()
    this.inFlight.clear()
    return { ok: true, users: users.size }
  }

  /**
   * Re-reads the file when it changes (polled every `intervalMs`: an editor
   * that replaces the file is seen too). Returns the function that stops it.
   */
  watch(onReload: (outcome: HtpasswdReload) => void, intervalMs = 2000): () => void {
    // Compared with the file as last read, not with the previous poll: a
    // change made before the first poll is seen too.
    const poll = (): void =>
      stat(this.file, (err, st) => {
        if (err || sameFile(st, this.readStat)) return
        const outcome = this.reload()
        // A file that cannot be used now is reported once, not at every poll.
        if (!outcome.ok) this.readStat = fileIdentity(st)
        onReload(outcome)
      })
    const timer = setInterval(poll, intervalMs)
    timer.unref()
    return () => clearInterval(timer)
  }

  async verify(user: string, password: string): Promise<boolean> {
    const id = createHmac('sha256', this.key)
      .update(`${Buffer.byteLength(user)}:${user}`)
      .update(password)
      .digest('base64')
    const expires = this.remembered.get(id)
    if (expires !== undefined) {
      if (expires > this.now()) return true
      this.remembered.delete(id)
    }
    const running = this.inFlight.get(id)
    if (running) return running
    const generation = this.generation
    const hash = this.users.get(user)
    const check = (async () => {
      const match = await this.compare(password, hash ?? UNKNOWN_USER_HASH)
      return match && hash !== undefined
    })()
    this.inFlight.set(id, check)
    try {
      const ok = await check
      if (ok && generation === this.generation) this.remember(id)
      return ok
    } finally {
      if (this.inFlight.get(id) === check) this.inFlight.delete(id)
    }
  }

  private remember(id: string): void {
    this.remembered.delete(id)
    this.remembered.set(id, this.now() + this.cacheMs)
    while (this.remembered.size > this.cacheEntries) this.remembered.delete(this.remembered.keys().next().value!)
  }
}
