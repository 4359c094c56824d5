"""Reading a STOW-RS answer (DICOM JSON) per instance: which were stored, which failed and why. The router
reads it from its own STOW-RS (direct_stow.py): Orthanc's DICOMweb client does not pass it on, on 1.10 or 1.12.

FailureReason codes (PS3.18 I.2.2 and the Azure DICOM service's conformance statement v2) sort into:
  - success: 45070 (already stored with the same Study/Series/SOP Instance UIDs: the cloud has it);
  - retry later: 272 (processing failure), 45071 (being created by another process), A7xx (out of
    resources), and an instance the answer does not mention;
  - never (dead-letter the instance): everything else, e.g. 43264 (validation: a required attribute, a UID
    or an implicit-VR encoding), 43265 (another study than the request's), 290, 49442, A9xx, Cxxx.
"""

ALREADY_STORED = 45070
NOT_MENTIONED = -1  # the answer names the instance in neither sequence
_TRANSIENT = {272, 45071, NOT_MENTIONED}
REASONS = {
    43264: "the instance failed validation (a required attribute missing, a UID not 1-64 of [0-9A-Za-z.-], "
           "or an implicit-VR transfer syntax)",
    43265: "its StudyInstanceUID differs from the study of the request",
    45070: "already stored",
    45071: "being created by another process",
    272: "processing failure",
    290: "SOP class not supported",
    49442: "transfer syntax not supported",
    NOT_MENTIONED: "the answer does not mention the instance",
}


def reason(code):
    if code in REASONS:
        return REASONS[code]
    if 0xA700 <= code <= 0xA7FF:
        return "out of resources"
    if 0xA900 <= code <= 0xA9FF:
        return "data set does not match its SOP class"
    if 0xC000 <= code <= 0xCFFF:
        return "cannot understand"
    return "failure reason %d" % code


def is_transient(code):
    return code in _TRANSIENT or 0xA700 <= code <= 0xA7FF


def _values(item, tag):
    value = (item or {}).get(tag, {}).get("Value")
    return value if isinstance(value, list) else []


def per_instance(answer, sent_uids):
    """{SOPInstanceUID: 0 (stored) | failure code} for every uid in sent_uids. A failed entry without its
    SOPInstanceUID (an unreadable part) is matched to the one sent instance left, if exactly one is."""
    answer = answer if isinstance(answer, dict) else {}
    outcome = {}
    for item in _values(answer, "00081199"):
        for uid in _values(item, "00081155"):
            outcome[uid] = 0
    anonymous = []
    for item in _values(answer, "00081198"):
        codes = [c for c in _values(item, "00081197") if isinstance(c, int)]
        code = codes[0] if codes else 272
        uids = _values(item, "00081155")
        if uids:
            outcome[uids[0]] = code
        else:
            anonymous.append(code)
    left = [uid for uid in sent_uids if uid not in outcome]
    if len(left) == 1 and len(anonymous) == 1:
        outcome[left[0]] = anonymous[0]
    return {uid: outcome.get(uid, NOT_MENTIONED) for uid in sent_uids}
