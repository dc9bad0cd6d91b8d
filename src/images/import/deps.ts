/** Everything this folder takes from the rest of the image domain, in one place. */
export { isValidName, isValidTag, parseDigest, type Digest } from '../grammar.js'
export { OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, isListType, type Descriptor, type Platform } from '../media-types.js'
export { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP } from '../media-types.js'
export { looksLikeHost } from '../resolve.js'
