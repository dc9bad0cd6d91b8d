/**
 * HTTPS requests that verify the server the way nodes do: against a given CA
 * only, with the name they dial (SNI and host check), on a fresh connection.
 */
import { request } from 'node:https'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import type { IncomingHttpHeaders } from 'node:http'

export interface HttpsResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  /** The certificate the server presented. */
  peer: PeerCertificate
  protocol: string | null
}

export interface HttpsGetOptions {
  /** PEM the client trusts (and nothing else). */
  ca: string
  /** Name for SNI and the host check; defaults to the URL's host. */
  servername?: string
  method?: string
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
}

export const httpsGet = (url: string, options: HttpsGetOptions): Promise<HttpsResponse> =>
  new Promise((resolveGet, reject) => {
    const u = new URL(url)
    const req = request(
      {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: options.method ?? 'GET',
        ca: options.ca,
        servername: options.servername,
        minVersion: options.minVersion,
        maxVersion: options.maxVersion,
        agent: false,
        headers: options.servername ? { host: `${options.servername}:${u.port}` } : {},
      },
      (res) => {
        const socket = res.socket as TLSSocket
        const peer = socket.getPeerCertificate()
        const protocol = socket.getProtocol()
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), peer, protocol }))
      },
    )
    req.on('error', reject)
    req.end()
  })
