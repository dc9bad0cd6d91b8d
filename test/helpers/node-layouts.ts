/**
 * The files bootstrap.sh touches on a freshly installed node, as the
 * distributions ship them (chrony.conf, package sources, /etc/hosts,
 * os-release), written under a directory for `bootstrap.sh --root`; and a
 * snapshot of a tree (every file's SHA-256 and mode, every folder and link)
 * to compare before and after.
 */
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

export type LayoutName = 'debian-12' | 'ubuntu-22.04' | 'rhel-9' | 'centos-7'

export interface Layout {
  name: LayoutName
  /** Where the distribution keeps chrony.conf. */
  chronyConf: string
  /** Outpost's CA in the OS trust store. */
  caStore: string
  /** Files: path under the root → content (and mode when not 0644). */
  files: Record<string, string | { content: string; mode: number }>
}

const DEBIAN_CHRONY_TAIL = `
# Use time sources from DHCP.
sourcedir /run/chrony-dhcp

# Use NTP sources found in /etc/chrony/sources.d.
sourcedir /etc/chrony/sources.d

# This directive specify the location of the file containing ID/key pairs for
# NTP authentication.
keyfile /etc/chrony/chrony.keys

# This directive specify the file into which chronyd will store the rate
# information.
driftfile /var/lib/chrony/chrony.drift

# Save NTS keys and cookies.
ntsdumpdir /var/lib/chrony

# Uncomment the following line to turn logging on.
#log tracking measurements statistics

# Log files location.
logdir /var/log/chrony

# Stop bad estimates upsetting machine clock.
maxupdateskew 100.0

# This directive enables kernel synchronisation (every 11 minutes) of the
# real-time clock. Note that it can't be used along with the 'rtcfile' directive.
rtcsync

# Step the system clock instead of slewing it if the adjustment is larger than
# one second, but only in the first three clock updates.
makestep 1 3

# Get TAI-UTC offset and leap seconds from the system tz database.
# This directive must be commented out when using time sources serving
# leap-smeared time.
leapsectz right/UTC
`

const DEBIAN_CHRONY = `# Welcome to the chrony configuration file. See chrony.conf(5) for more
# information about usable directives.

# Include configuration files found in /etc/chrony/conf.d.
confdir /etc/chrony/conf.d

# Use Debian vendor zone.
pool 2.debian.pool.ntp.org iburst
${DEBIAN_CHRONY_TAIL}`

const UBUNTU_CHRONY = `# Welcome to the chrony configuration file. See chrony.conf(5) for more
# information about usable directives.

# Include configuration files found in /etc/chrony/conf.d.
confdir /etc/chrony/conf.d

# This will use (up to):
# - 4 sources from ntp.ubuntu.com which some are ipv6 enabled
# - 2 sources from 2.ubuntu.pool.ntp.org which is ipv6 enabled as well
# - 1 source from [01].ubuntu.pool.ntp.org each (ipv4 only atm)
# This means by default, up to 6 dual-stack and up to 2 additional IPv4-only
# sources will be used.
pool ntp.ubuntu.com        iburst maxsources 4
pool 0.ubuntu.pool.ntp.org iburst maxsources 1
pool 1.ubuntu.pool.ntp.org iburst maxsources 1
pool 2.ubuntu.pool.ntp.org iburst maxsources 2
${DEBIAN_CHRONY_TAIL}`

const RHEL9_CHRONY = `# Use public servers from the pool.ntp.org project.
# Please consider joining the pool (https://www.pool.ntp.org/join.html).
pool 2.rhel.pool.ntp.org iburst

# Use NTP servers from DHCP.
sourcedir /run/chrony-dhcp

# Record the rate at which the system clock gains/losses time.
driftfile /var/lib/chrony/drift

# Allow the system clock to be stepped in the first three updates
# if its offset is larger than 1 second.
makestep 1.0 3

# Enable kernel synchronization of the real-time clock (RTC).
rtcsync

# Enable hardware timestamping on all interfaces that support it.
#hwtimestamp *

# Serve time even if not synchronized to a time source.
#local stratum 10

# Specify file containing keys for NTP authentication.
keyfile /etc/chrony.keys

# Save NTS keys and cookies.
ntsdumpdir /var/lib/chrony

# Get TAI-UTC offset and leap seconds from the system tz database.
leapsectz right/UTC

# Specify directory for log files.
logdir /var/log/chrony
`

const CENTOS7_CHRONY = `# Use public servers from the pool.ntp.org project.
# Please consider joining the pool (http://www.pool.ntp.org/join.html).
server 0.centos.pool.ntp.org iburst
server 1.centos.pool.ntp.org iburst
server 2.centos.pool.ntp.org iburst
server 3.centos.pool.ntp.org iburst

# Record the rate at which the system clock gains/losses time.
driftfile /var/lib/chrony/drift

# Allow the system clock to be stepped in the first three updates
# if its offset is larger than 1 second.
makestep 1.0 3

# Enable kernel synchronization of the real-time clock (RTC).
rtcsync

# Specify directory for log files.
logdir /var/log/chrony
`

const CENTOS7_BASE_REPO = `# CentOS-Base.repo
#
# The mirror system uses the connecting IP address of the client and the
# update status of each mirror to pick mirrors that are updated to and
# geographically close to the client.

[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#released updates
[updates]
name=CentOS-$releasever - Updates
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#additional packages that extend functionality of existing packages
[centosplus]
name=CentOS-$releasever - Plus
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=centosplus&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/centosplus/$basearch/
gpgcheck=1
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
`

const CENTOS7_MEDIA_REPO = `[c7-media]
name=CentOS-$releasever - Media
baseurl=file:///media/CentOS/
        file:///media/cdrom/
gpgcheck=1
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
`

const RHEL9_REDHAT_REPO = `#
# Certificate-Based Repositories
# Managed by (rhsm) subscription-manager
#
[rhel-9-for-x86_64-baseos-rpms]
name = Red Hat Enterprise Linux 9 for x86_64 - BaseOS (RPMs)
baseurl = https://cdn.redhat.com/content/dist/rhel9/$releasever/x86_64/baseos/os
enabled = 1
gpgcheck = 1
gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release
sslverify = 1
sslcacert = /etc/rhsm/ca/redhat-uep.pem

[rhel-9-for-x86_64-appstream-rpms]
name = Red Hat Enterprise Linux 9 for x86_64 - AppStream (RPMs)
baseurl = https://cdn.redhat.com/content/dist/rhel9/$releasever/x86_64/appstream/os
enabled = 1
gpgcheck = 1
gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release

[rhel-9-for-x86_64-baseos-debug-rpms]
name = Red Hat Enterprise Linux 9 for x86_64 - BaseOS (Debug RPMs)
baseurl = https://cdn.redhat.com/content/dist/rhel9/$releasever/x86_64/baseos/debug
enabled = 0
gpgcheck = 1
`

const RHEL9_LOCAL_REPO = `[dvd-baseos]
name=RHEL 9 DVD BaseOS
baseurl=file:///mnt/rhel9/BaseOS
enabled=1
gpgcheck=1
`

const DEBIAN_SOURCES = `deb http://deb.debian.org/debian bookworm main non-free-firmware
deb-src http://deb.debian.org/debian bookworm main non-free-firmware

deb http://deb.debian.org/debian-security/ bookworm-security main non-free-firmware
deb-src http://deb.debian.org/debian-security/ bookworm-security main non-free-firmware

# bookworm-updates, to get updates before a point release is made;
deb http://deb.debian.org/debian bookworm-updates main non-free-firmware
`

const UBUNTU_SOURCES = `# See http://help.ubuntu.com/community/UpgradeNotes for how to upgrade to
# newer versions of the distribution.
deb http://archive.ubuntu.com/ubuntu/ jammy main restricted
# deb-src http://archive.ubuntu.com/ubuntu/ jammy main restricted

## Major bug fix updates produced after the final release of the
## distribution.
deb http://archive.ubuntu.com/ubuntu/ jammy-updates main restricted
deb [arch=amd64] http://security.ubuntu.com/ubuntu/ jammy-security main restricted
`

const KUBERNETES_SOURCES = `Types: deb
URIs: https://pkgs.k8s.io/core:/stable:/v1.30/deb/
Suites: /
Signed-By: /etc/apt/keyrings/kubernetes-apt-keyring.gpg

Types: deb
URIs: https://download.docker.com/linux/ubuntu
Suites: jammy
Components: stable
Enabled: no
`

const osRelease: Record<LayoutName, string> = {
  'debian-12':
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n',
  'ubuntu-22.04':
    'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n',
  'rhel-9':
    'NAME="Red Hat Enterprise Linux"\nVERSION="9.3 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"\n',
  'centos-7':
    'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n',
}

/** A node of each distribution, with an earlier Outpost CA (`oldCa`) and an unrelated one (`otherCa`) trusted under other names. */
export const layoutOf = (name: LayoutName, oldCa: string, otherCa: string): Layout => {
  const machineId = { 'etc/machine-id': { content: `${createHash('md5').update(name).digest('hex')}\n`, mode: 0o444 } }
  switch (name) {
    case 'debian-12':
      return {
        name,
        chronyConf: 'etc/chrony/chrony.conf',
        caStore: 'usr/local/share/ca-certificates/outpost-ca.crt',
        files: {
          'etc/os-release': osRelease[name],
          ...machineId,
          'etc/chrony/chrony.conf': DEBIAN_CHRONY,
          'etc/chrony/conf.d/README': 'Files *.conf here are included by chrony.conf.\n',
          'etc/apt/sources.list': DEBIAN_SOURCES,
          'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tnode-1.example\tnode-1\n\n::1     localhost ip6-localhost ip6-loopback\n',
          'usr/local/share/ca-certificates/registry/old-registry.crt': oldCa,
          'usr/local/share/ca-certificates/corp-root.crt': otherCa,
        },
      }
    case 'ubuntu-22.04':
      return {
        name,
        chronyConf: 'etc/chrony/chrony.conf',
        caStore: 'usr/local/share/ca-certificates/outpost-ca.crt',
        files: {
          'etc/os-release': osRelease[name],
          ...machineId,
          'etc/chrony/chrony.conf': UBUNTU_CHRONY,
          'etc/apt/sources.list': UBUNTU_SOURCES,
          'etc/apt/sources.list.d/kubernetes.sources': KUBERNETES_SOURCES,
          'etc/apt/sources.list.d/local.list': 'deb [trusted=yes] file:/srv/local-debs ./\n',
          // No localhost at all: bootstrap.sh adds it.
          'etc/hosts': '10.0.0.12 node-2\n',
          // Where an earlier bootstrap.sh kept a replaced Outpost CA.
          'usr/local/share/ca-certificates/outpost-ca.crt.outpost-orig': oldCa,
          'usr/local/share/ca-certificates/corp-root.crt': otherCa,
        },
      }
    case 'rhel-9':
      return {
        name,
        chronyConf: 'etc/chrony.conf',
        caStore: 'etc/pki/ca-trust/source/anchors/outpost-ca.crt',
        files: {
          'etc/os-release': osRelease[name],
          ...machineId,
          'etc/chrony.conf': RHEL9_CHRONY,
          'etc/yum.repos.d/redhat.repo': RHEL9_REDHAT_REPO,
          'etc/yum.repos.d/dvd.repo': RHEL9_LOCAL_REPO,
          'etc/hosts':
            '127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n',
          // update-ca-trust reads every file in anchors/, whatever its name.
          'etc/pki/ca-trust/source/anchors/outpost-ca.crt.outpost-orig': oldCa,
          'etc/pki/ca-trust/source/anchors/corp-root.pem': otherCa,
        },
      }
    case 'centos-7':
      return {
        name,
        chronyConf: 'etc/chrony.conf',
        caStore: 'etc/pki/ca-trust/source/anchors/outpost-ca.crt',
        files: {
          'etc/os-release': osRelease[name],
          ...machineId,
          'etc/chrony.conf': CENTOS7_CHRONY,
          'etc/yum.repos.d/CentOS-Base.repo': CENTOS7_BASE_REPO,
          'etc/yum.repos.d/CentOS-Media.repo': CENTOS7_MEDIA_REPO,
          'etc/hosts': { content: '127.0.0.1   localhost localhost.localdomain\n', mode: 0o600 },
          'etc/pki/ca-trust/source/anchors/my-registry.pem': oldCa,
          'etc/pki/ca-trust/source/anchors/corp-root.pem': otherCa,
        },
      }
  }
}

export const writeLayout = (root: string, layout: Layout): void => {
  for (const [path, file] of Object.entries(layout.files)) {
    const p = join(root, path)
    mkdirSync(dirname(p), { recursive: true })
    const { content, mode } = typeof file === 'string' ? { content: file, mode: 0o644 } : file
    writeFileSync(p, content)
    chmodSync(p, mode)
  }
}

/** Every entry under a directory: files as `sha256 mode`, folders as `dir mode`, links as `-> target`. */
export const snapshot = (root: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const st = lstatSync(p)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isSymbolicLink()) out[relative(root, p)] = `-> ${readlinkSync(p)}`
      else if (st.isDirectory()) {
        out[`${relative(root, p)}/`] = `dir ${mode}`
        walk(p)
      } else out[relative(root, p)] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${mode}`
    }
  }
  if (existsSync(root)) walk(root)
  return out
}
