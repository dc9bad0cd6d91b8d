/** The TLS part of the configuration, in the shape src/tls takes. */
import type { TlsSettings } from '../tls/index.js'
import type { OutpostConfig } from './config.js'

export const tlsSettingsOf = (config: OutpostConfig): TlsSettings => ({
  dataDir: config.data_dir,
  domains: config.registry.domains,
  extraSans: config.tls.extra_sans,
  backdateHours: config.tls.backdate_hours,
  serverDays: config.tls.server_days,
  caDays: config.tls.ca_days,
  renewBeforeDays: config.tls.renew_before_days,
  operator: config.tls.cert && config.tls.key ? { cert: config.tls.cert, key: config.tls.key, ca: config.tls.ca } : null,
})
