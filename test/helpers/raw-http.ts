/**
 * Sends a request line exactly as written, over a plain socket. HTTP clients
 * (and Node's own http.request through `new URL`) normalise `..` and
 * `%2e%2e` before sending, which is the very thing hostile-path tests need
 * to get past.
 */
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

export const rawRequest = (
  hostPort: string,
  target: string,
  method = 'GET',
  extraHeaders: Record<string, string> = {},
  /** What the request line claims to be (`HTTP/2.0` to see it refused). */
  version = 'HTTP/1.1',
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))]
    const socket = connect(port, host)
    const chunks: Buffer[] = []
    socket.setTimeout(5000, () => socket.destroy(new Error(`timeout on ${target}`)))
    socket.on('connect', () => {
      const lines = [
        `${method} ${target} ${version}`,
        // A Host among the extra headers replaces this one.
        ...(Object.keys(extraHeaders).some((k) => k.toLowerCase() === 'host') ? [] : [`Host: ${hostPort}`]),
        'Connection: close',
        ...Object.entries(extraHeaders).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ]
      socket.write(Buffer.from(lines.join('\r\n'), 'latin1'))
    })
    socket.on('data', (d) => chunks.push(d))
    socket.on('error', reject)
    socket.on('close', () => {
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      if (end < 0) return reject(new Error(`no response head for ${target}: ${JSON.stringify(all.toString('latin1'))}`))
      const [statusLine = '', ...headerLines] = all.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const l of headerLines) {
        const i = l.indexOf(':')
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: all.subarray(end + 4) })
    })
  })
