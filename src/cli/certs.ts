/** `outpost certs [--ca]` and `outpost certs rotate-ca`: the CA and the server certificate. */
import { join } from 'node:path'
import type { Command } from 'commander'
import { tlsSettingsOf, type OutpostConfig } from '../server/index.js'
import { daysUntil, readStatus, rotateCa, type CertInfo, type ServerDecision } from '../tls/index.js'
import { addConfigOptions, type ConfigFlags } from './options.js'
import { commandConfig, fail } from './run.js'

/** What the certificates depend on, and the HTTP port nodes fetch the CA from. */
const CERT_KEYS = ['data_dir', 'listen.http', 'registry.domains', 'tls.cert', 'tls.key', 'tls.ca', 'tls.extra_sans']

const iso = (d: Date): string => d.toISOString().replace(/\.000Z$/, 'Z')

const describe = (label: string, path: string, info: CertInfo, now: Date, withIssuer: boolean): string[] => [
  `${label.padEnd(8)} ${path}`,
  `  subject  ${info.subject}`,
  ...(withIssuer ? [`  issuer   ${info.issuer}`] : []),
  ...(info.sans.length ? [`  names    ${info.sans.join(', ')}`] : []),
  `  key      ${info.key}`,
  `  valid    ${iso(info.notBefore)} → ${iso(info.notAfter)} (${daysUntil(info.notAfter, now)} days left)`,
  `  serial   ${info.serialNumber}`,
  `  sha256   ${info.fingerprint256}`,
]

const decisionText = (d: ServerDecision | null): string =>
  d === null ? 'unknown (no usable CA)' : d === 'reuse' ? 'ok' : `re-issued at the next start or daily check (${d.reissue}: ${d.detail})`

/** Where nodes fetch the CA: the first registry domain on the HTTP port (nodes resolve it to this host). */
const caUrl = (config: OutpostConfig): string => {
  const http = config.listen.http
  return http ? `http://${config.registry.domains[0]}:${http.port}/ca.crt` : `https://${config.registry.domains[0]}/ca.crt`
}

const showCerts = (flags: ConfigFlags & { ca?: boolean }): void => {
  try {
    const config = commandConfig(flags)
    const now = new Date()
    const status = readStatus(tlsSettingsOf(config), now)
    if (flags.ca) {
      if (!status.ca) {
        process.stderr.write(
          status.source === 'operator'
            ? 'outpost: tls.cert is set without tls.ca: there is no CA to print\n'
            : `outpost: no CA yet in ${status.paths.dir}; \`outpost serve\` makes one on first start with HTTPS on\n`,
        )
        process.exit(1)
      }
      process.stdout.write(status.ca.pem)
      return
    }
    const lines: string[] = []
    if (status.source === 'operator') {
      lines.push('Certificates supplied by the operator (tls.cert, tls.key, tls.ca); Outpost does not renew them.', '')
      lines.push(...describe('Server', config.tls.cert!, status.server!.info, now, true), '')
      lines.push(
        ...(status.ca
          ? describe('CA', config.tls.ca!, status.ca.info, now, false)
          : ['CA       none configured (tls.ca): /ca.crt answers 404']),
      )
    } else {
      lines.push(`Certificates made by Outpost in ${status.paths.dir}`, '')
      if (!status.ca && !status.server) {
        lines.push('None yet: `outpost serve` makes a CA and a server certificate on first start with HTTPS on.')
        process.stdout.write(`${lines.join('\n')}\n`)
        process.exit(1)
      }
      if (status.problem) lines.push(`PROBLEM  ${status.problem}`, '')
      lines.push(...(status.ca ? describe('CA', status.paths.caCert, status.ca.info, now, false) : ['CA       missing']), '')
      lines.push(...(status.server ? describe('Server', status.paths.serverCert, status.server.info, now, true) : ['Server   missing']))
      lines.push(`  status   ${decisionText(status.decision)}`)
    }
    lines.push('', `Nodes trust the CA from ${caUrl(config)} (or: outpost certs --ca > outpost-ca.crt).`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } catch (err) {
    fail(err)
  }
}

const rotate = async (flags: ConfigFlags): Promise<void> => {
  try {
    const config = commandConfig(flags)
    const { material, archived } = await rotateCa(tlsSettingsOf(config))
    const now = new Date()
    const url = caUrl(config)
    const lines = [
      archived
        ? `Made a new CA and a server certificate under it; the previous files are in ${archived}.`
        : 'Made a CA and a server certificate under it (there was no CA before).',
      '',
      ...describe('CA', join(config.data_dir, 'tls', 'ca.crt'), material.caInfo!, now, false),
      '',
      ...describe('Server', join(config.data_dir, 'tls', 'server.crt'), material.server, now, true),
      '',
      'What to do next:',
      '  1. A running outpost keeps serving the old certificate until its next daily check. Switch now:',
      '       systemctl reload outpost        (or: kill -HUP <pid>, or restart it)',
      '  2. Every node must trust the new CA; until it does, it rejects Outpost over HTTPS:',
      `       Debian/Ubuntu: curl -fsSL ${url} -o /usr/local/share/ca-certificates/outpost-ca.crt && update-ca-certificates`,
      `       RHEL family:   curl -fsSL ${url} -o /etc/pki/ca-trust/source/anchors/outpost-ca.crt && update-ca-trust`,
      '       containerd:    write the same file to the `ca = "…"` path in /etc/containerd/certs.d/<registry>/hosts.toml',
      '                      (containerd reads hosts.toml per pull: no restart needed)',
      ...(archived ? ['  3. To go back, stop outpost and move the files from the folder above back into the tls folder.'] : []),
      '',
    ]
    process.stdout.write(lines.join('\n'))
  } catch (err) {
    fail(err)
  }
}

export const addCerts = (program: Command): void => {
  // Positional options: `certs rotate-ca --data-dir X` gives X to rotate-ca, not to certs.
  const certs = addConfigOptions(
    program
      .command('certs')
      .enablePositionalOptions()
      .description('show the CA and server certificate; --ca prints the CA PEM')
      .option('--ca', 'print only the CA certificate (PEM), for scripts'),
    CERT_KEYS,
  ).action(showCerts)
  addConfigOptions(
    certs
      .command('rotate-ca')
      .description('replace the CA and re-issue the server certificate under it (every node must then trust the new CA)'),
    CERT_KEYS,
  ).action(rotate)
}
