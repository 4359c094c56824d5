#!/usr/bin/env bash
# The lab's container runtime: podman from Debian (daemonless) and the project's own configuration under
# .cache/containers, used through CONTAINERS_CONF / CONTAINERS_STORAGE_CONF (never by editing /etc).
# Three settings make podman work on this kind of machine (../shared/LAB-NOTES.md "Containers"): explicit
# ulimits (no CAP_SYS_RESOURCE here, podman's defaults fail with EPERM), runc (crun refuses the hybrid cgroup
# layout) and the cgroupfs manager. Safe to re-run.
set -euo pipefail
dir=${1:?usage: install-container-runtime.sh CONFIG_DIR}
packages=(podman runc catatonit uidmap slirp4netns fuse-overlayfs netavark aardvark-dns containernetworking-plugins
          iptables debootstrap)
missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "container runtime missing: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "container runtime: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cat > "$dir/containers.conf" <<CONF
# Written by scripts/install-container-runtime.sh: see the comment there for why each setting is needed.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
cat > "$dir/storage.conf" <<CONF
# Written by scripts/install-container-runtime.sh: images and containers live under the repo's .cache.
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/run"
CONF
export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
# Prove it runs rather than trusting the install: a broken runtime fails here, at setup, with podman's own words.
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Store.GraphDriverName}}' >/dev/null
echo "container runtime: podman $(podman version --format '{{.Client.Version}}') configured in $dir"
