"""Third-party DICOM files through the whole chain: a modality (DCMTK's storescu, pynetdicom) -> the PACS
(Orthanc + plugin) -> the router -> a DICOM service that applies Azure's STOW rules (lab/azure/dicom_front.py:
the emulator's conformance layer in front of a real Orthanc, with a static bearer token).

Every instance the PACS stored either reaches the cloud with the same content (bytes when its encoding is
unchanged, decoded pixels after a lossless re-encoding of implicit VR / big endian) or is dead-lettered one by
one with Azure's FailureReason; nothing else is lost and refused instances never block the queue."""
import collections
import io
import re
import time

import pytest

from corpus import azure_refusal, pydicom_test_files, pynetdicom_send, same_content, storescu
from lab.azure.dicom_front import DicomFront
from lab.dicom_factory import make_dataset, make_instance, to_bytes
from pydicom.uid import ImplicitVRLittleEndian, generate_uid
from router_harness import fast_router, onprem_kwargs, queue_rows, router_status, wait_until

TOKEN = "corpus-static-token"


def implicit_bytes(dataset):
    """The dataset as a modality proposing Implicit VR Little Endian stores it."""
    buffer = io.BytesIO()
    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    dataset.save_as(buffer, enforce_file_format=True, implicit_vr=True, little_endian=True)
    return buffer.getvalue()


@pytest.mark.orthanc_lines("1.10", "1.12")
def test_pydicom_corpus_reaches_azure_rules_or_is_dead_lettered_per_instance(pg_database, orthanc_factory, cloud):
    front = DicomFront(cloud.http_port, token=TOKEN).start()
    try:
        kwargs = onprem_kwargs(pg_database, cloud.url, router=fast_router({"azure": {}}, BatchSize=10),
                               servers={"azure": {"Url": front.url,
                                                  "HttpHeaders": {"Authorization": "Bearer " + TOKEN}}})
        kwargs["config"].update({"DicomAet": "PACS", "UnknownSopClassAccepted": True})
        pacs = orthanc_factory("onprem", **kwargs)
        files = pydicom_test_files()
        assert len(files) > 100, "pydicom's test files are missing"
        started = time.monotonic()
        sent_by_dcmtk = storescu(files[0::2], pacs.dicom_port)
        sent_by_pynetdicom = pynetdicom_send(files[1::2], pacs.dicom_port)
        print("\nsent in %.1fs" % (time.monotonic() - started))
        # The corpus's files with broken UIDs never reach the PACS (Orthanc refuses an empty UID): add one that
        # does, in a study with good instances, to prove a bad UID only costs its own instance.
        study_uid, series_uid = generate_uid(), generate_uid()
        for number in (1, 2):
            pacs.upload(make_instance(patient_id="BADUID01", study_uid=study_uid, series_uid=series_uid,
                                      instance_number=number))
        bad = make_dataset(patient_id="BADUID01", study_uid=study_uid, series_uid=series_uid, instance_number=3)
        bad.SOPInstanceUID = bad.file_meta.MediaStorageSOPInstanceUID = study_uid + ".3_bad"
        pacs.upload(to_bytes(bad))

        studies = pacs.get_json("/studies")
        found = pacs.request("POST", "/tools/find", json={"Level": "Instance", "Query": {}, "Expand": True}).json()
        local = {}
        for instance in found:
            data = pacs.request("GET", "/instances/%s/file" % instance["ID"]).content
            local.setdefault(instance["MainDicomTags"]["SOPInstanceUID"], []).append(data)

        def settled():
            rows = queue_rows(pg_database)
            return rows if len(rows) == len(studies) and {r[2] for r in rows} <= {"done", "dead"} else None
        rows = wait_until(settled, 600, "every stored study routed (done or dead)", poll=1.0)  # 1.12: ~3 min loaded
        print("routed after %.1fs" % (time.monotonic() - started))

        expected_refused = {uid: azure_refusal(copies[0]) for uid, copies in local.items()
                            if azure_refusal(copies[0])}
        cloud_found = cloud.request("POST", "/tools/find", json={"Level": "Instance", "Query": {},
                                                                 "Expand": True}).json()
        in_cloud = {i["MainDicomTags"]["SOPInstanceUID"]: i["ID"] for i in cloud_found}
        status = router_status(pacs)
        dead = {d["sop_instance_uid"]: d for d in status["dead_instances"] if d["destination"] == "azure"}

        # nothing lost: each local instance is in the cloud or dead-lettered, as Azure's rules say
        assert set(in_cloud) == set(local) - set(expected_refused), (set(local) - set(in_cloud), set(in_cloud) - set(local))
        assert set(dead) == set(expected_refused), (dead, expected_refused)
        assert {d["failure_code"] for d in dead.values()} <= {43264}
        assert bad.SOPInstanceUID in dead and study_uid in {d["study_uid"] for d in dead.values()}
        assert all(r[2] == "done" for r in rows), [r for r in rows if r[2] != "done"]  # the rest of each study went
        assert status["destinations"]["azure"]["dead_instances"] == len(expected_refused)

        # same content in the cloud; preamble zeroed there
        how = collections.Counter()
        for uid, cloud_id in in_cloud.items():
            remote = cloud.request("GET", "/instances/%s/file" % cloud_id).content
            assert remote[:128] == bytes(128)
            results = [same_content(copy, remote) for copy in local[uid]]
            assert any(ok for ok, _how in results), (uid, results)
            how[next(h for ok, h in results if ok)] += 1
        metrics = pacs.request("GET", "/medimaging/metrics").text
        counted = re.search(r'medimaging_router_instances_transcoded_total\{destination="azure"\} (\S+)', metrics)
        assert float(counted.group(1)) >= how["pixels"] + how["elements"] > 0  # refused ones were transcoded too
        assert 'medimaging_router_instances_dead_lettered_total{destination="azure",reason="43264"}' in metrics
        print("\ncorpus: %d files; sent by storescu %d/%d, by pynetdicom %d/%d; PACS stored %d instances in %d "
              "studies; cloud %d (%s); dead-lettered %d: %s; front saw FailureReasons %s, %d stored with warnings"
              % (len(files), sum(1 for c in sent_by_dcmtk.values() if c == 0), len(sent_by_dcmtk),
                 sum(1 for s in sent_by_pynetdicom.values() if s == 0), len(sent_by_pynetdicom), len(local),
                 len(studies), len(in_cloud), dict(how), len(dead),
                 dict(collections.Counter(v for v in expected_refused.values())), front.stats["failure_reasons"],
                 front.stats["warned"]))
    finally:
        front.stop()


@pytest.mark.orthanc_lines("1.10", "1.12")
def test_oauth_managed_server_gets_transcoded_instances_with_the_plugins_token(pg_database, orthanc_factory, cloud):
    """The destination is a DicomWebOAuth server (static token provider): the router's own STOW-RS takes the
    URL and the current token from that feature."""
    front = DicomFront(cloud.http_port, token=TOKEN).start()
    try:
        kwargs = onprem_kwargs(pg_database, cloud.url, router=fast_router({"azure": {}}))
        kwargs["config"]["DicomWebOAuth"] = {"Servers": {"azure": {"Url": front.url, "StaticToken": TOKEN}}}
        pacs = orthanc_factory("onprem", **kwargs)
        study_uid, series_uid = generate_uid(), generate_uid()
        files = {}
        for number, implicit in ((1, True), (2, True), (3, False)):
            ds = make_dataset(patient_id="OAUTHTX", study_uid=study_uid, series_uid=series_uid,
                              instance_number=number)
            if not implicit:  # stored with a warning (202, WarningReason 1): a success for the router
                ds.StudyDate = "NotAValidDate"
            files[ds.SOPInstanceUID] = implicit_bytes(ds) if implicit else to_bytes(ds)
        no_patient = make_dataset(study_uid=study_uid, series_uid=series_uid, instance_number=4)
        del no_patient.PatientID
        for data in list(files.values()) + [to_bytes(no_patient)]:
            pacs.upload(data)
        status = wait_until(lambda: (lambda s: s if s["destinations"]["azure"]["dead_instances"] == 1
                                     and s["destinations"]["azure"]["done"] == 2 else None)(router_status(pacs)),
                            60, "both Orthanc studies routed, the instance without PatientID dead-lettered")
        assert status["dead_instances"][0]["sop_instance_uid"] == no_patient.SOPInstanceUID
        assert status["dead_instances"][0]["failure_code"] == 43264
        found = cloud.request("POST", "/tools/find", json={"Level": "Instance", "Query": {}, "Expand": True}).json()
        in_cloud = {i["MainDicomTags"]["SOPInstanceUID"]: i["ID"] for i in found}
        assert set(in_cloud) == set(files)
        for uid, data in files.items():
            remote = cloud.request("GET", "/instances/%s/file" % in_cloud[uid]).content
            assert same_content(data, remote)[0], uid
        assert front.stats["failure_reasons"] == {"43264": 1}  # implicit VR never reached the service
        assert front.stats["warned"] == 1
    finally:
        front.stop()
