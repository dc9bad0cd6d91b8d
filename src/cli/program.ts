/**
 * outpost serve | demo | ls | import PATH… | certs [--ca] | certs rotate-ca | verify [--repos] | check | check-config | --version
 * Each subcommand lives in its own module and takes only the flags of the keys it reads.
 */
import { Command } from 'commander'
import { addCerts } from './certs.js'
import { addCheckConfig } from './check-config.js'
import { addDemo } from './demo.js'
import { addImport } from './import.js'
import { addLs } from './ls.js'
import { addServe } from './serve.js'
import { addStatus } from './status.js'
import { addCompletion } from './completion.js'
import { addVerify } from './verify.js'
import { addCheck } from './check.js'
import { VERSION } from '../server/version.js'
import { EXIT_HELP, addExamples } from './help.js'

export const buildProgram = (): Command => {
  const program = new Command()
  program
    .name('outpost')
    .description('Serves an air-gapped Kubernetes install: images, packages, files, certificates, time.')
    .version(VERSION)
    // A bad flag or a missing argument is a configuration error (exit 2); commander prints it. Inherited by the subcommands.
    .exitOverride()
  addServe(program)
  addDemo(program)
  addLs(program)
  // Positional options, for the commands from here on: `certs rotate-ca --data-dir X` gives X to rotate-ca, not to certs.
  program.enablePositionalOptions()
  addCerts(program)
  addImport(program)
  addVerify(program)
  addCheck(program)
  addCheckConfig(program)
  addStatus(program)
  addCompletion(program)
  addExamples(program)
  program.addHelpText(
    'after',
    [
      '',
      'Every configuration key has an OUTPOST_ environment variable (see the README or',
      'config/outpost.example.yaml): flags win over the environment, the environment',
      'over the config file. `outpost COMMAND --help` shows its flags, defaults and examples.',
      EXIT_HELP,
    ].join('\n'),
  )
  return program
}
