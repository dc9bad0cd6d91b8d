/** `outpost check-config FILE…`: validate config files. */
import type { Command } from 'commander'
import { ConfigError, checkConfigFile } from '../server/index.js'

export const addCheckConfig = (program: Command): void => {
  program
    .command('check-config')
    .description('validate config files and exit')
    .argument('<files...>')
    .action((files: string[]) => {
      let bad = 0
      for (const file of files) {
        try {
          checkConfigFile(file)
          process.stdout.write(`${file}: ok\n`)
        } catch (err) {
          bad++
          process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`)
        }
      }
      process.exit(bad ? 1 : 0)
    })
}
