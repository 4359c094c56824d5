"""The podman containers of a revision. Names and labels tie each container to its revision; the image is the one
the template names when it exists locally (the lab pulls nothing), the project's Orthanc image for the public
orthancteam/orthanc image, and a missing image fails the revision as a failed pull does on Azure.

Trust: on Azure a replica verifies Entra ID, Key Vault and the DICOM service with its image's public CAs. The lab's
services carry certificates of the lab CA, so each replica gets the image's trust store as the lab sees it: the
system CA bundle (this machine's public CAs) plus the lab CA, mounted read-only over the image's bundle path, which
Orthanc's HTTP client (DICOMweb), Python's ssl and curl read, and named by SSL_CERT_FILE for clients that look there.
A lab-only mechanism: the app's template stays exactly what Azure receives.
"""
import hashlib
import os
import re
import tempfile

from lab.azure.container_apps import labels
from lab.azure.container_apps.secrets import RevisionFailed
from lab.containers.runtime import ContainerError, podman, podman_json

REVISION_LABEL = "io.medimaging.revision"
PROJECT_IMAGE = "localhost/medimaging/orthanc:trixie"
# Public images the lab stands in for with the project's image (built by `python -m lab.containers build orthanc`).
ALIASES = (re.compile(r"^(docker\.io/)?orthancteam/orthanc(:[\w.-]+)?$"),)
MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*Gi")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"   # Debian's path, in this machine and in the images


def trust_bundle(ctx):
    """The replicas' CA bundle (system CAs + the lab CA), written once per lab: its path on this machine."""
    path = os.path.join(ctx.layout.azure_dir, "replica-ca-certificates.crt")
    if not os.path.exists(path):
        parts = []
        for source in (SYSTEM_BUNDLE, ctx.ca_bundle):
            if os.path.exists(source):
                with open(source, encoding="utf-8") as handle:
                    parts.append(handle.read().strip() + "\n")
        with tempfile.NamedTemporaryFile("w", dir=ctx.layout.azure_dir, delete=False) as handle:
            handle.write("".join(parts))
        os.chmod(handle.name, 0o644)  # public certificates; replicas run as any UID
        os.replace(handle.name, path)
    return path


def revision_key(ctx, revision_id):
    """The revision's label value: unique per lab directory too (two labs may hold the same resource ids)."""
    return hashlib.sha256(f"{ctx.layout.root}|{revision_id.lower()}".encode()).hexdigest()[:12]


def local_image(image):
    if podman("image", "exists", image, check=False).returncode == 0:
        return image
    if any(alias.match(image) for alias in ALIASES) and \
            podman("image", "exists", PROJECT_IMAGE, check=False).returncode == 0:
        return PROJECT_IMAGE
    raise RevisionFailed(f"Field 'template.containers.image' is invalid with details: 'Invalid value: \"{image}\": "
                         "GET: MANIFEST_UNKNOWN: the image does not exist (the lab pulls no images: build it or tag a "
                         "local image with that name)'.")


def _memory_bytes(container):
    found = MEMORY.fullmatch(str((container.get("resources") or {}).get("memory", "1Gi")).strip())
    return int(float(found.group(1)) * 1024 ** 3) if found else None


def start(ctx, revision_id, app_name, container, env, network, index):
    """Start one replica's container; returns its name."""
    image = local_image(container["image"])
    suffix = revision_id.rsplit("/", 1)[-1].split("--")[-1]
    name = f"ca-{app_name}-{suffix}-{container['name']}-{index}"[:56] + "-" + revision_key(ctx, revision_id)[:8]
    podman("rm", "-f", name, check=False)
    with tempfile.NamedTemporaryFile("w", prefix="ca-env-", delete=False) as handle:
        os.chmod(handle.name, 0o600)
        for key, value in env.items():
            if "\n" in str(value):
                raise RevisionFailed(f"Container '{container['name']}': env {key} holds a line break, which the lab's "
                                     "replicas cannot take.")
            handle.write(f"{key}={value}\n")
    argv = ["run", "-d", "--name", name, *labels(ctx), "--label", f"{REVISION_LABEL}={revision_key(ctx, revision_id)}",
            "--network", network, "--env-file", handle.name,
            "--volume", f"{trust_bundle(ctx)}:{SYSTEM_BUNDLE}:ro", "--env", f"SSL_CERT_FILE={SYSTEM_BUNDLE}"]
    memory = _memory_bytes(container)
    if memory:
        argv += ["--memory", str(memory)]
    if container.get("command"):
        argv += ["--entrypoint", container["command"][0]]
    argv += [image, *(container.get("command") or [])[1:], *(container.get("args") or [])]
    try:
        podman(*argv)
    except ContainerError as err:
        raise RevisionFailed(f"Container '{container['name']}' could not start: {err}") from None
    finally:
        os.unlink(handle.name)
    return name


def of_revision(ctx, revision_id):
    """[{name, state, ip}] of the revision's containers."""
    listed = podman_json("ps", "-a", "--format", "json", "--filter", f"label={REVISION_LABEL}="
                         f"{revision_key(ctx, revision_id)}")
    out = []
    for item in listed:
        name = item["Names"][0]
        inspect = podman_json("inspect", "--format", "json", name)
        networks = (inspect[0].get("NetworkSettings") or {}).get("Networks") or {} if inspect else {}
        address = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
        out.append({"name": name, "state": item.get("State"), "ip": address})
    return sorted(out, key=lambda r: r["name"])


def log_tail(name, lines=12):
    """The last lines a replica printed (stdout and stderr), for the lab's own failure messages."""
    done = podman("logs", "--tail", str(lines), name, check=False)
    return ((done.stdout or b"") + (done.stderr or b"")).decode(errors="replace").strip()


def stop(ctx, revision_id):
    names = [r["name"] for r in of_revision(ctx, revision_id)]
    if names:
        podman("rm", "-f", "-t", "1", *names, check=False)
    return len(names)


def restart(ctx, revision_id):
    names = [r["name"] for r in of_revision(ctx, revision_id)]
    if names:
        podman("restart", "-t", "2", *names, check=False)
