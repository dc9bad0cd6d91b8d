export {
  buildSetupContext,
  certSha256,
  parseOrigin,
  registryHostsOf,
  DEFAULT_UPSTREAMS,
  type SetupContext,
  type SetupContextInput,
  type SetupTree,
  type AptSuite,
  type RegistryEndpoint,
} from './context.js'
export { setupFiles, findSetupFile, renderSetupIndex, type SetupFile, type SetupKind } from './files.js'
export { renderBootstrap, renderManifest, manifestLines, fillTemplate } from './bootstrap.js'
export { renderHostsToml } from './containerd.js'
export { renderRegistriesConf } from './containers.js'
export { renderDaemonJson } from './docker.js'
export {
  renderYumRepo,
  renderAptSources,
  yumMatch,
  aptMatch,
  treeSlug,
  yumChecks,
  aptCheck,
  type YumChecks,
  type AptCheck,
} from './repos.js'
export { chooseOrigin, ownNames, type OriginPolicy, type OriginChoice } from './origin.js'
export { setupRouter, type SetupSource, type SetupRouterOptions } from './routes.js'
export { renderChronyConf, renderTimesyncdConf } from './chrony.js'
