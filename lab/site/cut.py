"""Real network cuts between a site host and the cloud side: iptables rules in the host container's own network
namespace (entered from this machine with nsenter, so the host image needs no firewall tools).

- drop: packets to the cloud endpoints vanish (a silent WAN failure: connections hang until the client times out);
- reject: every packet is answered with a TCP reset (a refusing firewall: connections fail at once).
Rules carry a comment so that heal() removes exactly them.
"""
import subprocess

from lab.containers.runtime import ContainerError, podman

COMMENT = "medimaging-lab-cut"
TARGETS = {"drop": ["-j", "DROP"], "reject": ["-j", "REJECT", "--reject-with", "tcp-reset"]}


def _netns(container):
    pid = podman("container", "inspect", "--format", "{{.State.Pid}}", container).stdout.decode().strip()
    if not pid or pid == "0":
        raise ContainerError(f"container {container} is not running: no network to cut")
    return ["nsenter", "-t", pid, "-n"]


def _iptables(container, *args):
    argv = [*_netns(container), "iptables", "-w", "5", *args]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise ContainerError(f"`iptables {' '.join(args)}` in {container}'s network failed: "
                             f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode()


def rules(container):
    """The cut rules in place now (iptables -S lines)."""
    return [line for line in _iptables(container, "-S", "OUTPUT").splitlines() if COMMENT in line]


def cut(container, address, ports, mode):
    """Cut the host's TCP traffic to address:ports (the cloud endpoints) in `mode` (drop | reject)."""
    if mode not in TARGETS:
        raise ContainerError(f"unknown cut mode {mode!r}: choose {' or '.join(TARGETS)}")
    heal(container)
    for port in ports:
        _iptables(container, "-I", "OUTPUT", "-p", "tcp", "-d", address, "--dport", str(port),
                  "-m", "comment", "--comment", COMMENT, *TARGETS[mode])
    return rules(container)


def heal(container):
    """Remove every cut rule; returns how many were removed."""
    current = rules(container)
    for line in current:
        _iptables(container, *line.replace("-A OUTPUT", "-D OUTPUT", 1).replace(f'"{COMMENT}"', COMMENT).split())
    return len(current)
