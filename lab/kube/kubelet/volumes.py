"""Pod volumes as host folders bind-mounted into the containers: configMap, secret, emptyDir, persistentVolumeClaim,
projected (serviceAccountToken, configMap, secret, downwardAPI) and downwardAPI.

Files are written once when the pod starts; projected service-account tokens are rewritten at 80 % of their
lifetime, as the kubelet does. fsGroup makes the volumes group-owned by that group (group-readable, and
group-writable for emptyDir and claims)."""
import base64
import os
import shutil
import time

from lab.kube.kubelet.fields import FieldError, field_value

DEFAULT_MODE = 0o644
TOKEN_SECONDS = 3600


class VolumeError(Exception):
    """A volume cannot be set up yet (missing ConfigMap/Secret/key); the pod waits in ContainerCreating."""


def _config_map_files(resolver, namespace, source, volume):
    name = source.get("name", "")
    found = resolver.config_map(namespace, name)
    if found is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : configmap "{name}" not found')
    files = {key: value.encode() for key, value in (found.get("data") or {}).items()}
    files.update({key: base64.b64decode(value) for key, value in (found.get("binaryData") or {}).items()})
    return _select(files, source, volume, f'configmap "{name}"')


def _secret_files(resolver, namespace, source, volume):
    name = source.get("secretName") or source.get("name", "")
    found = resolver.secret(namespace, name)
    if found is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : secret "{name}" not found')
    files = {key: base64.b64decode(value) for key, value in (found.get("data") or {}).items()}
    files.update({key: value.encode() for key, value in (found.get("stringData") or {}).items()})
    return _select(files, source, volume, f'secret "{name}"')


def _select(files, source, volume, what):
    """{path: (bytes, mode or None)}: every key, or only `items` (key -> path, mode)."""
    if not source.get("items"):
        return {key: (data, None) for key, data in files.items()}
    chosen = {}
    for item in source["items"]:
        if item["key"] not in files:
            if source.get("optional"):
                continue
            raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : {what} has no key "{item["key"]}"')
        chosen[item["path"]] = (files[item["key"]], item.get("mode"))
    return chosen


def _downward_files(pod, source):
    files = {}
    for item in source.get("items") or []:
        if "fieldRef" not in item:
            raise VolumeError(f"downwardAPI item {item.get('path')}: only fieldRef is supported")
        try:
            files[item["path"]] = (field_value(pod, item["fieldRef"]["fieldPath"]).encode(), item.get("mode"))
        except FieldError as exc:
            raise VolumeError(str(exc)) from exc
    return files


class PodVolumes:
    """The volumes of one pod under `root` (the pod's folder): build() -> {volume name: host path}."""

    def __init__(self, pod, resolver, root):
        self.pod, self.resolver, self.root = pod, resolver, root
        self.namespace = pod["metadata"].get("namespace", "default")
        self.fs_group = (pod["spec"].get("securityContext") or {}).get("fsGroup")
        self.tokens = []          # projected service-account tokens to refresh: {volume, path, audience, seconds, due}

    def build(self):
        paths = {}
        for volume in self.pod["spec"].get("volumes") or []:
            name = volume["name"]
            path = os.path.join(self.root, "volumes", name)
            if "persistentVolumeClaim" in volume:
                path = self.resolver.volume_dir(self.namespace, volume["persistentVolumeClaim"]["claimName"])
                os.makedirs(path, exist_ok=True)
                self._own(path, writable=True)
            elif "emptyDir" in volume:
                os.makedirs(path, exist_ok=True)
                os.chmod(path, 0o777)             # emptyDir is world-writable, as the kubelet makes it
                self._own(path, writable=True)
            else:
                files, mode = self._files(volume)
                self._write(path, files, mode)
            paths[name] = path
        return paths

    def _files(self, volume):
        """({relative path: (bytes, mode)}, defaultMode) of a file-backed volume."""
        name = volume["name"]
        if "configMap" in volume:
            return _config_map_files(self.resolver, self.namespace, volume["configMap"], name), \
                volume["configMap"].get("defaultMode", DEFAULT_MODE)
        if "secret" in volume:
            return _secret_files(self.resolver, self.namespace, volume["secret"], name), \
                volume["secret"].get("defaultMode", DEFAULT_MODE)
        if "downwardAPI" in volume:
            return _downward_files(self.pod, volume["downwardAPI"]), \
                volume["downwardAPI"].get("defaultMode", DEFAULT_MODE)
        if "projected" in volume:
            return self._projected(volume["projected"], name), volume["projected"].get("defaultMode", DEFAULT_MODE)
        kinds = sorted(set(volume) - {"name"})
        raise VolumeError(f'volume "{name}" of type {kinds} is not supported by the lab kubelet '
                          "(configMap, secret, emptyDir, persistentVolumeClaim, projected, downwardAPI)")

    def _projected(self, projected, volume):
        files = {}
        for source in projected.get("sources") or []:
            if "configMap" in source:
                files.update(_config_map_files(self.resolver, self.namespace, source["configMap"], volume))
            elif "secret" in source:
                files.update(_secret_files(self.resolver, self.namespace, source["secret"], volume))
            elif "downwardAPI" in source:
                files.update(_downward_files(self.pod, source["downwardAPI"]))
            elif "serviceAccountToken" in source:
                token = source["serviceAccountToken"]
                seconds = int(token.get("expirationSeconds", TOKEN_SECONDS))
                files[token["path"]] = (self._token(token.get("audience", ""), seconds).encode(), None)
                self.tokens.append({"volume": volume, "path": token["path"], "audience": token.get("audience", ""),
                                    "seconds": seconds, "due": time.time() + 0.8 * seconds})
            else:
                raise VolumeError(f'projected volume "{volume}": source {sorted(source)} is not supported')
        return files

    def _token(self, audience, seconds):
        account = self.pod["spec"].get("serviceAccountName") or "default"
        return self.resolver.token(self.namespace, account, audience, seconds, self.pod)

    def refresh_tokens(self, paths, now=None):
        """Rewrite projected tokens past 80 % of their lifetime (in place: the bind mount keeps the inode)."""
        now = now or time.time()
        for token in self.tokens:
            if now < token["due"]:
                continue
            with open(os.path.join(paths[token["volume"]], token["path"]), "w", encoding="ascii") as handle:
                handle.write(self._token(token["audience"], token["seconds"]))
            token["due"] = now + 0.8 * token["seconds"]

    def _write(self, path, files, default_mode):
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, mode=0o755)
        for relative, (data, mode) in files.items():
            target = os.path.normpath(os.path.join(path, relative))
            if not target.startswith(path + os.sep):
                raise VolumeError(f"volume item path {relative!r} leaves the volume")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
            mode = default_mode if mode is None else mode
            if self.fs_group is not None:
                mode |= 0o040
            os.chmod(target, mode)
        self._own(path, writable=False)

    def _own(self, path, writable):
        if self.fs_group is None:
            return
        for folder, dirs, names in os.walk(path):
            os.chown(folder, -1, self.fs_group)
            os.chmod(folder, os.stat(folder).st_mode | (0o2070 if writable else 0o2050))
            for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                target = os.path.join(folder, name)
                if not os.path.islink(target):
                    os.chown(target, -1, self.fs_group)
                    if writable:
                        os.chmod(target, os.stat(target).st_mode | 0o060)
