/**
 * Everything this folder takes from the image domain, in one place. Today it
 * comes from `./local-domain.ts`; once `src/images/` has them, point these
 * lines at `../grammar.js`, `../media-types.js` and `../resolve.js` and delete the local copy
 * (the names and shapes are the same). `DOCKER_CONFIG`, `DOCKER_LAYER` and
 * `DOCKER_LAYER_GZIP` belong in `../media-types.js` too.
 */
export { isValidName, isValidTag, parseDigest, type Digest } from './local-domain.js'
export { OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, isListType, type Descriptor, type Platform } from './local-domain.js'
export { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP } from './local-domain.js'
export { looksLikeHost } from './local-domain.js'
