#!/usr/bin/env node
/** The command line under its earlier path (`dist/cli.js`), for units and scripts that still call it. */
import './cli/index.js'
