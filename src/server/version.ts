/** The package version, read from package.json beside src/ or dist/ (the same two levels up from either). */
import { readFileSync } from 'node:fs'

export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    return pkg.version
  } catch {
    return '0.0.0'
  }
})()
