/**
 * Nodes: time for the cluster (SNTP, /time), node check-in and the
 * kubespray inventory (/nodes), and each node's set-up (/setup).
 */
export { startSntp, queryNtp, type SntpOptions, type SntpServer, type PacketOutcome } from './sntp.js'
export { nodesApi, type NodesApiOptions } from './routes.js'
export { preciseNow, type Clock } from './clock.js'
