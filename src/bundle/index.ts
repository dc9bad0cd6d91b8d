/**
 * Whether the bundle is complete for the cluster being built: requirements
 * (images, files, packages, platforms) checked against what is served, the
 * platforms the nodes need, the readiness checks that follow, the bundle
 * manifest carried across the gap, and the status page.
 */
export { bundleContent, viewSource, type ContentLookup, type ContentOptions, type ImageSummary, type ImageLookup } from './content.js'
export { evaluateRequirements, type CheckReport, type RequirementResult, type RequirementStatus } from './evaluate.js'
export { RequirementsMonitor, catalogImages, type RequirementsConfig, type NodeArch } from './monitor.js'
export { withArchFlags, imagesLacking } from './node-flags.js'
export { covers, neededPlatforms, parsePlatform, parsePlatformList, nodePlatform, type NeededPlatforms } from './platforms.js'
export { imagesCheck, imagesReadiness } from './readiness.js'
export { renderCheckText } from './report.js'
export {
  RequirementsError,
  parseImageRef,
  parseFileRef,
  parseRequirementLists,
  readRequirementLists,
  readRequirements,
  type Requirement,
  type RequirementLists,
  type NamedList,
} from './requirements.js'
export { requirementsRouter } from './routes.js'
export { statusRouter, gatherStatus, isLoopbackAddress, type StatusSources } from './status.js'
export { renderStatusPage, STATUS_CSP, type StatusData, type RenderOptions } from './status-page.js'
export { esc, redactor } from './html.js'
