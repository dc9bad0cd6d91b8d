export { registryApi, API_VERSION, API_VERSION_HEADER, type RegistryApiOptions } from './routes.js'
export { RegistryError, OCI_ERRORS, errorBody, errorResponse, type OciErrorCode } from './errors.js'
export { parseV2Path, type V2Route } from './paths.js'
export {
  registryAccess,
  mayWrite,
  requestUserOf,
  decideAccess,
  parseBasic,
  CHALLENGE,
  type ListenerKind,
  type ListenerBinding,
  type RegistryAccessOptions,
} from './access.js'
export { Htpasswd, HtpasswdError, parseHtpasswd, type CredentialCheck, type HtpasswdReload } from './htpasswd.js'
