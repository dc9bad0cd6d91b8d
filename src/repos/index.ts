/**
 * File roots and package trees: safe path resolution, static serving with
 * listings, and yum/apt tree detection and checks.
 */
export { filesRouter, isReserved, FILES_ROUTE, type FilesRouterOptions } from './static.js'
export { FileCache, type FileCacheOptions, type FileEntry } from './file-cache.js'
export { FileRoots, mountRoots, matchRoot, normalisePrefix, type FileRootSpec, type MountedRoot, type SymlinkPolicy } from './roots.js'
export { parseRequestPath, encodePath, encodeSegment, isInside, type SafePath, type PathRefusal } from './safe-path.js'
export { hiddenEntries, type HiddenEntry } from './hidden.js'
export { prefersJson, renderHtml, renderJson, readListing, type ListingEntry } from './listing.js'
