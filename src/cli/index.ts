#!/usr/bin/env -S node --max-semi-space-size=4
/** The `outpost` command. */
import { buildProgram } from './program.js'
import { fail } from './run.js'

buildProgram().parseAsync(process.argv).catch(fail)
