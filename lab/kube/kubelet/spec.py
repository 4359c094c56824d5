"""A Kubernetes container -> `podman create` arguments: command/args, mounts, resources and securityContext.

Pure: everything it needs (volume folders, image user, environment names) is passed in, so it is tested without
podman."""
import json
import os

from lab.kube.kubelet.env import expand
from lab.kube.kubelet.quantity import parse_cpu, parse_memory

READ_ONLY_VOLUMES = ("configMap", "secret", "projected", "downwardAPI")
# Names podman itself needs from its environment: these values go on the command line instead.
PODMAN_OWN_ENV = ("PATH", "HOME", "TMPDIR", "XDG_RUNTIME_DIR", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF")


def security_context(pod, container):
    """The effective securityContext: the container's fields over the pod's."""
    merged = dict(pod["spec"].get("securityContext") or {})
    merged.update(container.get("securityContext") or {})
    return merged


def effective_user(context, image_user):
    """(uid or None, text) of the user the container runs as: runAsUser, else the image's USER (name or number)."""
    if context.get("runAsUser") is not None:
        return int(context["runAsUser"]), str(context["runAsUser"])
    user = (image_user or "").split(":")[0]
    if user in ("", "root"):
        return 0, user or "root"
    return (int(user), user) if user.isdigit() else (None, user)


def non_root_refusal(pod, container, image_user):
    """The kubelet's CreateContainerConfigError message when runAsNonRoot cannot hold, else None."""
    context = security_context(pod, container)
    if not context.get("runAsNonRoot"):
        return None
    uid, text = effective_user(context, image_user)
    where = f"(pod: \"{pod['metadata']['name']}_{pod['metadata'].get('namespace', 'default')}"\
            f"({pod['metadata'].get('uid', '')})\", container: {container['name']})"
    if uid is None:
        return (f"container has runAsNonRoot and image has non-numeric user ({text}), "
                f"cannot verify user is non-root {where}")
    if uid == 0:
        return "container has runAsNonRoot and image will run as root " + where
    return None


def security_args(pod, container):
    context = security_context(pod, container)
    args = []
    if context.get("runAsUser") is not None:
        user = str(context["runAsUser"])
        if context.get("runAsGroup") is not None:
            user += f":{context['runAsGroup']}"
        args += ["--user", user]
    elif context.get("runAsGroup") is not None:
        raise ValueError("runAsGroup without runAsUser is not supported by the lab kubelet")
    pod_context = pod["spec"].get("securityContext") or {}
    for group in [pod_context.get("fsGroup")] + list(pod_context.get("supplementalGroups") or []):
        if group is not None:
            args += ["--group-add", str(group)]
    if context.get("privileged"):
        args.append("--privileged")
    if context.get("readOnlyRootFilesystem"):
        # Kubernetes gives no writable /tmp: an emptyDir must be mounted there (podman would add tmpfs mounts).
        args += ["--read-only", "--read-only-tmpfs=false"]
    capabilities = context.get("capabilities") or {}
    for cap in capabilities.get("drop") or []:
        args += ["--cap-drop", cap]
    for cap in capabilities.get("add") or []:
        args += ["--cap-add", cap]
    if context.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    seccomp = (context.get("seccompProfile") or {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    elif seccomp == "Localhost":
        raise ValueError("seccompProfile Localhost is not supported by the lab kubelet (use RuntimeDefault)")
    return args


def resource_args(container):
    limits = (container.get("resources") or {}).get("limits") or {}
    args = []
    if "memory" in limits:
        memory = parse_memory(limits["memory"])
        args += ["--memory", str(memory), "--memory-swap", str(memory)]   # no swap, as on a kubelet node
    if "cpu" in limits:
        args += ["--cpus", f"{parse_cpu(limits['cpu']):.3f}"]
    return args


def mount_args(pod, container, volume_paths, hosts_file):
    kinds = {vol["name"]: next((k for k in vol if k != "name"), "") for vol in pod["spec"].get("volumes") or []}
    args = ["--volume", f"{hosts_file}:/etc/hosts"]
    for mount in container.get("volumeMounts") or []:
        name = mount["name"]
        if name not in volume_paths:
            raise ValueError(f"volumeMount {name!r} of container {container['name']} names no volume of the pod")
        source = volume_paths[name]
        if mount.get("subPath"):
            source = os.path.normpath(os.path.join(source, mount["subPath"]))
            if not source.startswith(volume_paths[name]):
                raise ValueError(f"subPath {mount['subPath']!r} leaves volume {name!r}")
            if not os.path.exists(source):
                os.makedirs(source, mode=0o777)
        read_only = mount.get("readOnly") or kinds.get(name) in READ_ONLY_VOLUMES
        args += ["--volume", f"{source}:{mount['mountPath']}{':ro' if read_only else ''}"]
    return args


def command_args(container, env):
    """(entrypoint args, positional args): command replaces ENTRYPOINT and CMD; args alone replace CMD."""
    values = dict(env)
    args = [expand(arg, values) for arg in container.get("args") or []]
    if container.get("command"):
        return ["--entrypoint", json.dumps([expand(part, values) for part in container["command"]])], args
    return [], args


def create_args(pod, container, podman_name, pod_name, labels, env, volume_paths, hosts_file):
    """`podman create` argv (without "podman") for one container; env values travel in podman's environment."""
    argv = ["create", "--name", podman_name, "--pod", pod_name, "--pull", "never",
            "--stop-timeout", str(pod["spec"].get("terminationGracePeriodSeconds", 30))]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    for name, value in env:
        # `--env NAME` takes the value from podman's own environment: secrets stay out of the process list.
        own = name in PODMAN_OWN_ENV or name.startswith(("LD_", "CONTAINERS_"))
        argv += ["--env", f"{name}={value}" if own else name]
    if container.get("workingDir"):
        argv += ["--workdir", container["workingDir"]]
    argv += security_args(pod, container) + resource_args(container)
    argv += mount_args(pod, container, volume_paths, hosts_file)
    entrypoint, positional = command_args(container, env)
    return argv + entrypoint + [container["image"]] + positional
