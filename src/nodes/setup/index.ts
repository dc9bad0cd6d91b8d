export {
  buildSetupContext,
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
export { renderYumRepo, renderAptSources, yumMatch, aptMatch, treeSlug } from './repos.js'
export { renderChronyConf, renderTimesyncdConf } from './chrony.js'
