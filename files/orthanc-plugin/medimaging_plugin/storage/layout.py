"""Object names, the same as the official object-storage plugins' (orthanc-object-storage, BaseStorage).

"flat" (their default): [RootPath/]<uuid><extension>, the extension from the attachment's content type:
  1 DICOM -> .dcm, 2 DICOM as JSON -> .json, 3 DICOM until pixel data -> .dcm.head, anything else -> .unk.
"legacy" (Orthanc's filesystem layout): [RootPath/]<uuid[0:2]>/<uuid[2:4]>/<uuid>, no extension.
A site can switch between this plugin and theirs (same RootPath and StorageStructure) in either direction.
Reads also try the other layout, so a bucket filled under "legacy" stays readable after moving to "flat".
"""

import re

FLAT, LEGACY = "flat", "legacy"
STRUCTURES = (FLAT, LEGACY)
_EXTENSIONS = {1: ".dcm", 2: ".json", 3: ".dcm.head"}
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def valid_uuid(uuid):
    return isinstance(uuid, str) and bool(_UUID_RE.fullmatch(uuid))


def _join(root, name):
    return "%s/%s" % (root, name) if root else name


def object_name(uuid, content_type, structure=FLAT, root=""):
    """The object name of attachment `uuid` (Orthanc's UUID string) of `content_type` (an int)."""
    if not valid_uuid(uuid):
        raise ValueError("not an Orthanc attachment UUID: %r" % (uuid,))
    if structure == LEGACY:
        return _join(root, "%s/%s/%s" % (uuid[0:2], uuid[2:4], uuid))
    return _join(root, uuid + _EXTENSIONS.get(int(content_type), ".unk"))


def candidate_names(uuid, content_type, structure=FLAT, root=""):
    """Names to try when reading: the configured layout first, then the other one."""
    other = LEGACY if structure == FLAT else FLAT
    return [object_name(uuid, content_type, structure, root), object_name(uuid, content_type, other, root)]


def filesystem_path(storage_directory, uuid):
    """Where Orthanc's default filesystem storage keeps attachment `uuid` (xx/yy/uuid, no extension)."""
    if not valid_uuid(uuid):
        raise ValueError("not an Orthanc attachment UUID: %r" % (uuid,))
    return "%s/%s/%s/%s" % (storage_directory.rstrip("/"), uuid[0:2], uuid[2:4], uuid)


def normalise_root(root):
    """'/a/b/' -> 'a/b' (object names never start with '/')."""
    return "/".join(part for part in (root or "").split("/") if part)
