/**
 * File roots and package trees: safe path resolution, static serving with
 * listings, and yum/apt tree detection and checks.
 */
export { filesRouter, fileRoutes, isReserved, FILES_ROUTE, type FilesRouterOptions, type FileRoutes } from './static.js'
export { FileCache, type FileCacheOptions, type FileEntry } from './file-cache.js'
export { FileRoots, mountRoots, matchRoot, normalisePrefix, type FileRootSpec, type MountedRoot, type SymlinkPolicy } from './roots.js'
export { parseRequestPath, encodePath, encodeSegment, isInside, prefixSegments, type SafePath, type PathRefusal } from './safe-path.js'
export { hiddenEntries, type HiddenEntry } from './hidden.js'
export { prefersJson, renderHtml, renderJson, readListing, type ListingEntry } from './listing.js'
export {
  PackageTrees,
  checkTrees,
  detectTrees,
  type PackageTree,
  type TreeReport,
  type TreeKind,
  type CheckProgress,
  type CheckTreesOptions,
  type PackageTreesState,
} from './trees.js'
export type { TreeProblem, ProblemKind, Checksum, HashAlgorithm } from './checks.js'
export { decompressIndex, joinListed } from './checks.js'
export { parseRepomd, parsePrimary, type RepomdEntry, type PrimaryPackage } from './yum.js'
export { parseRelease, parsePackages, parseDeb822, stripClearsign, type ReleaseIndex, type DebPackage } from './apt.js'
export { formatReports } from './report.js'
