/**
 * Time on the node, from Outpost's SNTP responder: a whole chrony.conf
 * (the distribution's pool lines would send queries to the internet), or a
 * systemd-timesyncd drop-in where chrony is not installed (Debian and
 * Ubuntu's default). timesyncd cannot ask a port other than 123.
 */
import type { SetupContext } from './context.js'

export const CHRONY_CONF_DEBIAN = '/etc/chrony/chrony.conf'
export const CHRONY_CONF = '/etc/chrony.conf'
export const TIMESYNCD_DROP_IN = '/etc/systemd/timesyncd.conf.d/50-outpost.conf'

export const renderChronyConf = (ctx: SetupContext): string | null => {
  if (ctx.ntpPort === null) return null
  const port = ctx.ntpPort === 123 ? '' : ` port ${ctx.ntpPort}`
  return [
    `# chrony.conf, from Outpost (${ctx.baseUrl}/setup/): keep time from the bootstrap node.`,
    `# bootstrap.sh keeps the distribution's file as chrony.conf.outpost-orig.`,
    `server ${ctx.outpostHost}${port} iburst`,
    '# A fresh node may be far off: step the clock in the first three updates if it is more than 1 s out.',
    'makestep 1.0 3',
    'driftfile /var/lib/chrony/drift',
    'rtcsync',
    '',
  ].join('\n')
}

export const renderTimesyncdConf = (ctx: SetupContext): string | null => {
  if (ctx.ntpPort !== 123) return null
  return [
    `# ${TIMESYNCD_DROP_IN}, from Outpost (${ctx.baseUrl}/setup/): keep time from the bootstrap node.`,
    '[Time]',
    `NTP=${ctx.outpostHost}`,
    '# No fallback servers: they are on the internet.',
    'FallbackNTP=',
    '',
  ].join('\n')
}
