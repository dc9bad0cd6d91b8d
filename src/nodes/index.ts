/**
 * Nodes: time for the cluster (SNTP, /time), node check-in and the
 * kubespray inventory (/nodes), and each node's set-up (/setup).
 */
export { startSntp, queryNtp, type SntpOptions, type SntpServer, type PacketOutcome } from './sntp.js'
export { nodesApi, type NodesApiOptions } from './routes.js'
export { preciseNow, type Clock } from './clock.js'
export { NodeStore, NODES_SCHEMA, type NodeRecord, type NodeReport } from './store.js'
export { parseCheckin, checkinOffset, type Checkin } from './checkin.js'
export { renderInventoryIni, renderInventoryYaml, renderNodesText, nodesView, type Thresholds } from './inventory.js'
export type { SetupSource } from './setup/index.js'
export { DEFAULT_UPSTREAMS, type SetupTree, type SetupContext } from './setup/index.js'
