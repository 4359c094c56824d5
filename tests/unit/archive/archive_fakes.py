"""In-memory stand-ins for Orthanc's REST API and the Blob archive, enough for StudyArchiver's logic."""
import hashlib
import json

from azure.core.exceptions import HttpResponseError

from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_manifest import manifest_bytes, parse_manifest
from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_rest import OrthancError


def md5(data):
    return hashlib.md5(data).hexdigest()  # noqa: S324 - integrity check


class FakeResponse:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body

    @property
    def text(self):
        return self._body if isinstance(self._body, str) else json.dumps(self._body)

    def json(self):
        return self._body


class FakeOrthanc:
    """studies: {study_id: {uid, date, series: {series_id: {uid, modality, instances: {inst_id: (sop, bytes)}}}}}."""

    def __init__(self):
        self.studies = {}
        self.deleted = []
        self.corrupt = set()  # instance ids whose /file differs from the recorded MD5
        self.etag_md5 = True  # False: an Orthanc older than 1.9.2, whose attachment answers carry no ETag
        self.calls = []  # (method, path) of every instance-level call, to count round trips

    def add(self, study_id, uid, date, instances, series_uid="1.2.9", modality="CT"):
        series = {"s-" + study_id: {"uid": series_uid, "modality": modality,
                                    "instances": dict(("%s-%d" % (study_id, n), ("%s.%d" % (uid, n), data))
                                                      for n, data in enumerate(instances))}}
        self.studies[study_id] = {"uid": uid, "date": date, "series": series}

    def _instance(self, instance_id):
        for study in self.studies.values():
            for series in study["series"].values():
                if instance_id in series["instances"]:
                    return series["instances"][instance_id]
        raise OrthancError("GET", "/instances/" + instance_id, 404, "Unknown resource")

    def get_json(self, path, **kwargs):
        parts = path.strip("/").split("/")
        if parts[0] == "studies" and parts[-1] == "series":
            study = self.studies[parts[1]]
            return [{"ID": sid, "MainDicomTags": {"SeriesInstanceUID": s["uid"], "Modality": s["modality"]}}
                    for sid, s in study["series"].items()]
        if parts[0] == "series" and parts[-1] == "instances":
            for study in self.studies.values():
                if parts[1] in study["series"]:
                    return [{"ID": iid, "FileSize": len(data), "MainDicomTags": {"SOPInstanceUID": sop}}
                            for iid, (sop, data) in study["series"][parts[1]]["instances"].items()]
        raise AssertionError("unexpected GET " + path)

    def post_json(self, path, body):
        assert path == "/tools/find"
        limit = body["Query"]["StudyDate"].lstrip("-")
        return [{"ID": sid, "MainDicomTags": {"StudyInstanceUID": s["uid"], "StudyDate": s["date"]}}
                for sid, s in self.studies.items() if s["date"] and s["date"] <= limit]

    def request(self, method, path, expected=(200,), **kwargs):
        self.calls.append((method, path))
        if path.endswith("/attachments/dicom/md5"):
            return FakeResponse(200, md5(self._instance(path.split("/")[2])[1]))
        if method == "DELETE":
            self.deleted.append(path.split("/")[2])
            for study in self.studies.values():
                for series in study["series"].values():
                    series["instances"].pop(path.split("/")[2], None)
            return FakeResponse(200, {})
        raise AssertionError("unexpected %s %s" % (method, path))

    def get_bytes(self, path):
        self.calls.append(("GET", path))
        instance_id = path.split("/")[2]
        data = self._instance(instance_id)[1]
        return data + b"x" if instance_id in self.corrupt else data

    def get_attachment(self, path):
        """(bytes, MD5 recorded on storage) as OrthancClient.get_attachment reads them from the ETag."""
        assert path.endswith("/attachments/dicom/data"), path
        self.calls.append(("GET", path))
        instance_id = path.split("/")[2]
        data = self._instance(instance_id)[1]
        return (data + b"x" if instance_id in self.corrupt else data), (md5(data) if self.etag_md5 else None)


class FakeArchive:
    """A container: {name: bytes}; the stored MD5 is the one the uploader declared, refused unless it matches the
    bytes (as Azure checks Content-MD5)."""

    def __init__(self):
        self.blobs = {}
        self.uploads = []
        self.fail_after = None  # raise on the Nth upload, to simulate an interrupted run

    def listing(self, study_uid):
        return dict((n, (len(d), m)) for n, (d, m) in self.blobs.items() if n.startswith(study_uid + "/"))

    def upload(self, name, data, md5_hex, content_type="application/dicom"):
        if self.fail_after is not None and len(self.uploads) >= self.fail_after:
            raise RuntimeError("connection reset")
        if md5(data) != md5_hex:
            raise HttpResponseError(message="Md5Mismatch: the MD5 value specified in the request did not match")
        self.uploads.append(name)
        self.blobs[name] = (data, md5_hex)

    def download(self, name):
        return self.blobs[name][0]

    def read_manifest(self, study_uid):
        entry = self.blobs.get(study_uid + "/manifest.json")
        return parse_manifest(entry[0], study_uid) if entry else None

    def write_manifest(self, document):
        data = manifest_bytes(document)
        self.upload(document["StudyInstanceUID"] + "/manifest.json", data, md5(data), "application/json")
