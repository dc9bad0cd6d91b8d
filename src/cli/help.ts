/** The examples at the end of each subcommand's `--help`, and the exit statuses every command shares. */
import type { Command } from 'commander'

/** By command path (`certs rotate-ca`): a comment line, then the command. */
export const EXAMPLES: Record<string, Array<[string, string]>> = {
  serve: [
    ['serve a kubeplay bundle', 'outpost serve --bundle /opt/kubeplay/resources'],
    ['serve what a config file names', 'outpost serve --config /etc/outpost/config.yaml'],
    ['fill the roots later', 'outpost serve --bundle /srv/bundle --allow-missing-roots'],
  ],
  demo: [
    ['serve the demo bundle on loopback', 'outpost demo'],
    ['on free ports, without time', 'outpost demo --http 127.0.0.1:0 --https 127.0.0.1:0 --ntp off'],
  ],
  ls: [
    ['what a running Outpost serves', 'outpost ls http://127.0.0.1:8080'],
    ['what a bundle holds', 'outpost ls /opt/kubeplay/resources'],
  ],
  certs: [
    ['show the CA and the server certificate', 'outpost certs'],
    ['hand the CA to a node', 'outpost certs --ca > outpost-ca.crt'],
  ],
  'certs rotate-ca': [['make a new CA and server certificate', 'outpost certs rotate-ca --config /etc/outpost/config.yaml']],
  import: [
    ['load docker save archives into the push root', 'outpost import images/*.tar'],
    ['name an image that carries no name', 'outpost import --name library/busybox --tag 1.36 busybox-dir/'],
  ],
  verify: [
    ['hash every blob and file of a bundle', 'outpost verify --bundle /opt/kubeplay/resources'],
    ['check the yum and apt trees', 'outpost verify --repos --config /etc/outpost/config.yaml'],
  ],
  check: [
    [
      'the bundle against kubespray lists, for amd64 and arm64',
      'outpost check --bundle /opt/kubeplay/resources --images images.list --files files.list --platforms linux/amd64,linux/arm64',
    ],
    [
      'what kubeadm needs, asked of a running Outpost',
      'kubeadm config images list > k.list && outpost check --images k.list http://10.0.0.1:8080',
    ],
  ],
  'check-config': [['check a config file before a restart', 'outpost check-config /etc/outpost/config.yaml']],
  status: [
    ['the local Outpost (the configured HTTP listener)', 'outpost status'],
    ['another one, in a script', 'outpost status http://10.0.0.5:8080 >/dev/null && echo ready'],
  ],
  completion: [['complete outpost commands in bash', 'source <(outpost completion bash)']],
}

export const EXIT_HELP = [
  '',
  'Exit status: 0 success; 1 a check found problems (verify, check, status not',
  'ready or not answering, check-config); 2 a configuration or start-up error (a bad key',
  'or flag, a missing root, a listener that cannot bind). Stack traces are shown',
  'only with --log-level debug (or OUTPOST_LOG_LEVEL=debug).',
].join('\n')

const pathOf = (cmd: Command): string => {
  const names: string[] = []
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/** Adds the examples to every subcommand that has some (nested ones too). */
export const addExamples = (program: Command): void => {
  const walk = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      const examples = EXAMPLES[pathOf(sub)]
      if (examples) sub.addHelpText('after', ['', 'Examples:', ...examples.map(([what, line]) => `  # ${what}\n  ${line}`)].join('\n'))
      walk(sub)
    }
  }
  walk(program)
}
