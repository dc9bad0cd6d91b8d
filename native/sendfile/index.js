'use strict'
// The compiled engine (src/sendfile.cc); requiring this throws when it was
// not built, and Outpost then sends bodies on its JavaScript path.
module.exports = require('./build/Release/outpost_sendfile.node')
