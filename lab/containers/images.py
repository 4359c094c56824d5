"""The lab's images, built locally (no registry is reachable) and cached by their inputs.

An image is rebuilt only when its inputs change: the digest of its definition, of the files it is built from
and of the images it is built on is stored as the image's label io.medimaging.inputs. A build takes a lock,
so parallel tests that need the same image build it once.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from lab.containers.runtime import CONFIG_DIR, REPO_ROOT, ContainerError, podman, require_runtime

INPUTS_LABEL = "io.medimaging.inputs"
DEBIAN_MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")


@dataclass(frozen=True)
class Image:
    """One image: a Debian rootfs imported (suite set) or a Containerfile built over other images."""
    tag: str
    suite: str = ""
    containerfile: str = ""
    context: str = ""
    build_args: tuple = ()
    bases: tuple = ()          # names of IMAGES this one is built on (built first, part of the digest)
    stage: tuple = ()          # repo paths copied to a fresh context at the same place (instead of `context`)


# What the project's Orthanc image is built from (its Containerfile COPYs these, paths from the repository root).
ORTHANC_IMAGE_FILES = ("images/orthanc", "files/orthanc-plugin/entrypoint.py", "files/orthanc-plugin/medimaging_plugin",
                       "plugins/module_utils/orthanc_config.py", "plugins/module_utils/orthanc_secrets.py",
                       "plugins/module_utils/dict_merge.py")

IMAGES = {
    "debian-bookworm": Image("localhost/medimaging/debian:bookworm", suite="bookworm"),
    "debian-trixie": Image("localhost/medimaging/debian:trixie", suite="trixie"),
    "host-bookworm": Image("localhost/medimaging/host:bookworm", containerfile="lab/images/host/Containerfile",
                           context="lab/images/host", bases=("debian-bookworm",),
                           build_args=(("BASE_IMAGE", "localhost/medimaging/debian:bookworm"),)),
    "host-trixie": Image("localhost/medimaging/host:trixie", containerfile="lab/images/host/Containerfile",
                         context="lab/images/host", bases=("debian-trixie",),
                         build_args=(("BASE_IMAGE", "localhost/medimaging/debian:trixie"),)),
    # The hybrid lab's hospital host: the Debian 12 systemd host with the site's own PostgreSQL.
    "site-bookworm": Image("localhost/medimaging/site:bookworm", containerfile="lab/images/site/Containerfile",
                           context="lab/images/site", bases=("host-bookworm",),
                           build_args=(("BASE_IMAGE", "localhost/medimaging/host:bookworm"),)),
    # An aws_orthweb EC2 instance (lab/aws/hosts): the host with cloud-init and the user data's packages.
    "aws-host-bookworm": Image("localhost/medimaging/aws-host:bookworm",
                               containerfile="lab/aws/hosts/image/Containerfile", context="lab/aws/hosts/image",
                               bases=("host-bookworm",),
                               build_args=(("BASE_IMAGE", "localhost/medimaging/host:bookworm"),)),
    "orthanc-base-trixie": Image("localhost/medimaging/orthanc-base:trixie",
                                 containerfile="lab/images/orthanc-base/Containerfile",
                                 context="lab/images/orthanc-base", bases=("debian-trixie",),
                                 build_args=(("BASE_IMAGE", "localhost/medimaging/debian:trixie"),)),
    # The project's image over the lab base; users build the same Containerfile over orthancteam/orthanc.
    "orthanc": Image("localhost/medimaging/orthanc:trixie", containerfile="images/orthanc/Containerfile",
                     stage=ORTHANC_IMAGE_FILES, bases=("orthanc-base-trixie",),
                     build_args=(("BASE_IMAGE", "localhost/medimaging/orthanc-base:trixie"),)),
    # The chart's in-cluster PostgreSQL (database.mode inCluster): Debian 12's PostgreSQL 15, any UID in group 0.
    "postgres": Image("localhost/medimaging/postgres:15", containerfile="lab/images/postgres/Containerfile",
                      context="lab/images/postgres", bases=("debian-bookworm",),
                      build_args=(("BASE_IMAGE", "localhost/medimaging/debian:bookworm"),)),
    # The lab's execution environment base (lab/ee builds the collection's EE over it; users build over awx-ee).
    "ee-base-trixie": Image("localhost/medimaging/ee-base:trixie", containerfile="lab/images/ee-base/Containerfile",
                            stage=("lab/images/ee-base",), bases=("debian-trixie",),
                            build_args=(("BASE_IMAGE", "localhost/medimaging/debian:trixie"),)),
    # The viewer: the ohif_viewer role's templates rendered at start from OHIF_VIEWER_*, cloud mode's token broker.
    "ohif-viewer": Image("localhost/medimaging/ohif-viewer:bookworm", containerfile="images/ohif-viewer/Containerfile",
                         stage=("images/ohif-viewer", "roles/ohif_viewer/defaults", "roles/ohif_viewer/vars",
                                "roles/ohif_viewer/tasks/validate.yml", "roles/ohif_viewer/templates",
                                "files/ohif/token_broker.py", "files/orthanc-plugin/medimaging_plugin",
                                ".cache/ohif/app-3.13.2.tgz"),
                         bases=("debian-bookworm",),
                         build_args=(("BASE_IMAGE", "localhost/medimaging/debian:bookworm"),)),
}


def _hash_path(digest, path):
    full = os.path.join(REPO_ROOT, path)
    if os.path.isdir(full):
        for root, dirs, files in os.walk(full):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if not name.endswith(".pyc"):
                    _hash_path(digest, os.path.relpath(os.path.join(root, name), REPO_ROOT))
    else:
        digest.update(path.encode() + b"\0")
        with open(full, "rb") as handle:
            digest.update(handle.read())


def inputs_digest(name):
    image = IMAGES[name]
    digest = hashlib.sha256(repr((image.tag, image.suite, image.containerfile, image.build_args)).encode())
    if image.suite:
        digest.update(DEBIAN_MIRROR.encode())
    for path in filter(None, (image.containerfile, image.context, *image.stage)):
        _hash_path(digest, path)
    for base in image.bases:
        digest.update(inputs_digest(base).encode())
    return digest.hexdigest()[:32]


def built_digest(tag):
    done = podman("image", "inspect", "--format", "{{index .Labels \"" + INPUTS_LABEL + "\"}}", tag, check=False)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def ensure(name, log=print):
    """Build image `name` (and its bases) unless an image with the same inputs exists. Returns its tag."""
    if name not in IMAGES:
        raise ContainerError(f"no lab image named {name!r}; known: {', '.join(sorted(IMAGES))}")
    image = IMAGES[name]
    for base in image.bases:
        ensure(base, log)
    wanted = inputs_digest(name)
    if built_digest(image.tag) == wanted:
        return image.tag
    require_runtime()
    os.makedirs(CONFIG_DIR, exist_ok=True)
    with open(os.path.join(CONFIG_DIR, f"build-{name}.lock"), "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if built_digest(image.tag) == wanted:  # another process built it while we waited
            return image.tag
        log(f"building {image.tag} (inputs {wanted[:12]})")
        if image.suite:
            _import_rootfs(image, wanted)
        else:
            _build_containerfile(image, wanted)
    return image.tag


def _import_rootfs(image, digest):
    if shutil.which("debootstrap") is None:
        raise ContainerError("debootstrap is not installed; run `make setup`")
    work = tempfile.mkdtemp(prefix=f"rootfs-{image.suite}-", dir=CONFIG_DIR)
    try:
        rootfs = os.path.join(work, "rootfs")
        done = subprocess.run(["debootstrap", "--variant=minbase", "--include=ca-certificates", image.suite, rootfs,
                               DEBIAN_MIRROR], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            tail = done.stdout.decode(errors="replace").strip().splitlines()[-3:]
            raise ContainerError(f"debootstrap {image.suite} from {DEBIAN_MIRROR} failed: {' '.join(tail)}; "
                                 "check that Debian's archive is reachable (LAB_DEBIAN_MIRROR chooses another)")
        # Smaller image, same behaviour: package lists and caches are fetched again by whoever installs.
        for path in ("var/cache/apt/archives", "var/lib/apt/lists"):
            subprocess.run(["find", os.path.join(rootfs, path), "-type", "f", "-delete"], check=False)
        tar = subprocess.Popen(["tar", "-C", rootfs, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        podman("import", "--change", f"LABEL {INPUTS_LABEL}={digest}", "--change", 'CMD ["/bin/bash"]',
               "-", image.tag, input_bytes=tar.stdout.read())
        tar.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_containerfile(image, digest):
    args = ["build", "--network=host", "--label", f"{INPUTS_LABEL}={digest}", "-f",
            os.path.join(REPO_ROOT, image.containerfile), "-t", image.tag]
    for key, value in image.build_args:
        args += ["--build-arg", f"{key}={value}"]
    if not image.stage:
        podman(*args, os.path.join(REPO_ROOT, image.context), stdout=None)
        return
    context = tempfile.mkdtemp(prefix="context-", dir=CONFIG_DIR)
    try:
        stage_context(image.stage, context)
        podman(*args, context, stdout=None)
    finally:
        shutil.rmtree(context, ignore_errors=True)


def stage_context(paths, context):
    """Copy repo paths into context at the same relative place: a small build context, only the declared inputs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for path in paths:
        source, target = os.path.join(REPO_ROOT, path), os.path.join(context, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)


def image_size_mb(tag):
    done = podman("image", "inspect", "--format", "{{.Size}}", tag)
    return round(int(done.stdout.decode().strip()) / 1e6, 1)
