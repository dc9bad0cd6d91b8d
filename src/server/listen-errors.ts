/**
 * A listener that cannot bind, in words an operator can act on: which
 * listener, which key sets it, and what to do (free the port, grant
 * CAP_NET_BIND_SERVICE, pick another address).
 */
import type { ListenAddress } from './config-schema.js'

export const hostPort = (a: ListenAddress): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)

/**
 * What to say when `listen.<name>` cannot bind `addr`: `listen.https 0.0.0.0:8443
 * is in use (another Outpost or web server?): free it or change listen.https`.
 */
export const listenAdvice = (name: string, addr: ListenAddress, code: string | undefined, detail = ''): string => {
  const key = `listen.${name}`
  const where = `${name === 'ntp' ? 'UDP ' : ''}${hostPort(addr)}`
  switch (code) {
    case 'EADDRINUSE':
      return `${key} ${where} is in use (${name === 'ntp' ? 'another chronyd or ntpd?' : 'another Outpost or web server?'}): free it or change ${key}`
    case 'EACCES':
    case 'EPERM':
      return addr.port < 1024
        ? `${key} ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit grants it): run with it, or set ${key} to a port above 1023`
        : `${key} ${where}: not permitted (${code}): set ${key} to another address or port`
    case 'EADDRNOTAVAIL':
      return `${key} ${where}: this host has no address ${addr.host}: set ${key} to one of its addresses, or :${addr.port} for every address`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${key} ${where}: cannot resolve ${addr.host}: set ${key} to an address, or :${addr.port} for every address`
    default:
      return `${key} ${where}: cannot listen${detail ? `: ${detail}` : ''}`
  }
}

/**
 * A bind failure. The message keeps the key and address in front
 * (`listen.push (127.0.0.1:5000): listen EADDRINUSE…`); `advice` is the one
 * line for the operator.
 */
export class ListenError extends Error {
  readonly code: string | undefined
  readonly key: string
  readonly advice: string
  constructor(name: string, addr: ListenAddress, cause: NodeJS.ErrnoException) {
    super(`listen.${name} (${hostPort(addr)}): ${cause.message}`, { cause })
    this.name = 'ListenError'
    this.code = cause.code
    this.key = `listen.${name}`
    this.advice = listenAdvice(name, addr, cause.code, cause.message)
  }
}
