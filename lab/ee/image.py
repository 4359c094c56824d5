"""The collection's execution environment, built from meta/execution-environment.yml the way users build it.

`ansible-builder create` writes the build context; podman builds it. Users keep the definition's base image (the usual
EE base); the lab cannot pull it, so it overrides only what ansible-builder makes overridable, as build args:
EE_BASE_IMAGE (lab/images/ee-base, Debian 13 + ansible-core + ansible-runner), PYCMD (that base's venv) and PKGMGR
(apt-get instead of dnf). The collection goes in as the tarball `ansible-galaxy collection build` makes, and its
Python and system requirements come in the way they come for any EE that lists it: ansible-builder introspects the
installed collection's meta/execution-environment.yml (requirements.txt, bindep.txt). The collections the definition
takes from Galaxy (unreachable here) come from the base's `ansible` bundle, and their versions are checked.

The image is rebuilt only when its inputs change (their digest is its label, as for the other lab images).
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml
from ansible.module_utils.compat.version import LooseVersion

from lab.containers.images import INPUTS_LABEL, _hash_path, built_digest, ensure, inputs_digest
from lab.containers.runtime import CONFIG_DIR, REPO_ROOT, ContainerError, podman

DEFINITION = os.path.join(REPO_ROOT, "meta", "execution-environment.yml")
TAG = "localhost/medimaging/orthanc-ee:lab"
BASE = "ee-base-trixie"
LAB_BUILD_ARGS = {"PYCMD": "/opt/ee/bin/python3", "PKGMGR": "/usr/local/bin/ee-apt-get"}
# What goes into the collection tarball (galaxy.yml's build_ignore leaves the rest out) and the definition itself.
COLLECTION_INPUTS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "files", "requirements.txt", "bindep.txt",
                     "README.md")


def ee_digest():
    digest = hashlib.sha256(repr((TAG, sorted(LAB_BUILD_ARGS.items()))).encode())
    for path in COLLECTION_INPUTS:
        _hash_path(digest, path)
    digest.update(inputs_digest(BASE).encode())
    return digest.hexdigest()[:32]


def lab_definition(tarball_name):
    """meta/execution-environment.yml for the lab: the collection from its tarball, Galaxy's collections left to the
    base (checked by check_collections), the collection's own requirements by introspection."""
    with open(DEFINITION, encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    dependencies = definition.setdefault("dependencies", {})
    # Relative to the definition's folder for a direct build, relative to the collection root for introspection:
    # introspection of the installed collection is what brings them in, as for any EE that lists the collection.
    dependencies.pop("python", None)
    dependencies.pop("system", None)
    dependencies["galaxy"] = {"collections": [{"name": f"collections/{tarball_name}", "type": "file"}]}
    definition["additional_build_files"] = [{"src": tarball_name, "dest": "collections"}]
    return definition


def galaxy_requirements():
    with open(DEFINITION, encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    return (definition.get("dependencies", {}).get("galaxy") or {}).get("collections") or []


def build(log=print, force=False):
    """Build the EE unless an image with the same inputs exists. Returns (tag, seconds spent building or 0)."""
    ensure(BASE, log)
    wanted = ee_digest()
    if not force and built_digest(TAG) == wanted:
        return TAG, 0
    os.makedirs(CONFIG_DIR, exist_ok=True)
    with open(os.path.join(CONFIG_DIR, "build-orthanc-ee.lock"), "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and built_digest(TAG) == wanted:
            return TAG, 0
        started = time.monotonic()
        work = tempfile.mkdtemp(prefix="ee-", dir=CONFIG_DIR)
        try:
            _build_in(work, wanted, log)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        check_collections(TAG)
        return TAG, round(time.monotonic() - started, 1)


def _run(argv, what, cwd=None):
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = " ".join(done.stdout.decode(errors="replace").strip().splitlines()[-5:])
        raise ContainerError(f"{what} failed (exit {done.returncode}): {tail}")
    return done.stdout.decode(errors="replace")


def _build_in(work, digest, log):
    bindir = os.path.dirname(sys.executable)
    log("building the collection tarball")
    _run([os.path.join(bindir, "ansible-galaxy"), "collection", "build", "--force", "--output-path", work, REPO_ROOT],
         "ansible-galaxy collection build")
    tarball = next(n for n in os.listdir(work) if n.endswith(".tar.gz"))
    with open(os.path.join(work, "execution-environment.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(lab_definition(tarball), handle, sort_keys=False)
    context = os.path.join(work, "context")
    _run([os.path.join(bindir, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", context,
          "--output-filename", "Containerfile"], "ansible-builder create", cwd=work)
    args = ["build", "--network=host", "--label", f"{INPUTS_LABEL}={digest}", "-f",
            os.path.join(context, "Containerfile"), "-t", TAG,
            "--build-arg", f"EE_BASE_IMAGE={ensure(BASE)}"]
    for key, value in LAB_BUILD_ARGS.items():
        args += ["--build-arg", f"{key}={value}"]
    log(f"podman build {TAG} (inputs {digest[:12]})")
    podman(*args, context, stdout=None)


def check_collections(tag):
    """Every collection the definition takes from Galaxy is in the image, at a version its requirement accepts."""
    listing = podman("run", "--rm", "--entrypoint", "ansible-galaxy", tag, "collection", "list", "--format", "yaml")
    found = {}
    for collections in (yaml.safe_load(listing.stdout.decode()) or {}).values():
        for name, info in (collections or {}).items():
            found.setdefault(name, info.get("version"))
    problems = []
    for requirement in galaxy_requirements() + [{"name": "medimaging.orthanc"}]:
        name, spec = requirement["name"], requirement.get("version", "*")
        version = found.get(name)
        if version is None:
            problems.append(f"{name} is missing")
        elif spec.startswith(">=") and LooseVersion(version) < LooseVersion(spec[2:]):
            problems.append(f"{name} {version} does not satisfy {spec}")
    if problems:
        raise ContainerError(f"{tag}: " + "; ".join(problems))
    return found
