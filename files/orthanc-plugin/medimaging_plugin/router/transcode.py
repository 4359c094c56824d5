"""Which instances a destination would refuse for their encoding, and their lossless re-encoding.

The Azure DICOM service accepts only transfer syntaxes with explicit VR (conformance statement v2): an
instance Orthanc stored in Implicit VR Little Endian (what many modalities propose first) would be refused
with 43264. Explicit VR Big Endian is retired (PS3.5) and many viewers cannot read it. Both re-encode to
Explicit VR Little Endian without any change to the values: the pixel data stays identical. Compressed
syntaxes are never touched (that would not be lossless in general). The local copy is not modified:
Orthanc's /modify answers the re-encoded file without storing it.
"""

import json

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
# Only these may be listed: their conversion to Explicit VR Little Endian is lossless by construction.
LOSSLESS_SOURCES = (IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN)
DEFAULT_DICOMWEB = LOSSLESS_SOURCES  # Azure's rule (explicit VR only) plus the retired big endian


def transfer_syntax(api, instance_id):
    """The transfer syntax Orthanc recorded when it stored the instance ('' when unknown)."""
    return (api.get_json("/instances/%s/metadata?expand" % instance_id) or {}).get("TransferSyntax", "")


def transcoded(api, instance_id):
    """The instance re-encoded in Explicit VR Little Endian, same SOPInstanceUID (bytes; nothing stored)."""
    body = {"Transcode": EXPLICIT_VR_LITTLE_ENDIAN, "Keep": ["SOPInstanceUID"], "Force": True}
    data = api.post("/instances/%s/modify" % instance_id, json.dumps(body))
    return data if isinstance(data, bytes) else data.encode("latin-1")


def parse_setting(value, kind, path):
    """Destinations.NAME.Transcode -> the tuple of transfer syntaxes to re-encode. None (unset): the
    default of the destination's type (DICOMweb: DEFAULT_DICOMWEB; peers: nothing, Orthanc to Orthanc)."""
    from ..config.errors import ConfigError
    if value is None:
        return DEFAULT_DICOMWEB if kind == "dicomweb" else ()
    if value and kind != "dicomweb":
        raise ConfigError(path, "only DICOMweb destinations can transcode", "remove Transcode from this peer")
    for syntax in value:
        if syntax not in LOSSLESS_SOURCES:
            raise ConfigError(path, "%r cannot be re-encoded losslessly to Explicit VR Little Endian" % syntax[:64],
                              "list only %s, or [] to send every instance as stored" % " and ".join(LOSSLESS_SOURCES))
    return tuple(value)
