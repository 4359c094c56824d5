"""One world for the viewers: a hospital Orthanc, a DICOM service on a throwaway Azure emulator, and viewers
deployed by the ohif_viewer role in one run, served by one nginx. Shared by tests/integration/viewer and the bench.
Everything it starts is stopped by PID when the block ends."""
import contextlib
import os

from lab.ca import LabCA
from lab.throwaway import throwaway_lab
from lab.viewer.archives import CloudDicom, cohort, start_onprem_orthanc
from lab.viewer.deploy import Viewers, ensure_browser_and_ohif, write_htpasswd

ORTHANC_LOGIN = ("radiologist", "viewer-pass-1")
VIEWER_LOGIN = ("cloud-reader", "viewer-pass-2")


@contextlib.contextmanager
def ca_bundle_for_sdks(bundle):
    """The SDK clients trust the lab CA through the environment, as in tests/integration/lab."""
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = bundle
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


@contextlib.contextmanager
def viewer_world(work, bad_viewers=True, idempotence_run=True):
    """Yields a dict: orthanc, onprem_studies, cloud, cloud_studies, viewers, runs (first, second role run)."""
    tarball = ensure_browser_and_ohif()
    ca = LabCA(os.path.join(work, "ca"))
    ca.ensure()
    cert, key = ca.issue_server_cert("viewer")
    orthanc = start_onprem_orthanc(os.path.join(work, "orthanc"), *ORTHANC_LOGIN)
    viewers = None
    try:
        onprem_studies = cohort("ONPREM", count=2)
        for study in onprem_studies:
            for data in study.instances:
                orthanc.upload(data)
        with throwaway_lab() as lab:
            env = lab.env()
            with ca_bundle_for_sdks(env["ca_bundle"]):
                cloud = CloudDicom(env).create()
                cloud_studies = cohort("CLOUD", count=3)
                for study in cloud_studies:
                    cloud.stow(study)
            viewers = Viewers(os.path.join(work, "viewers"), cert, key, tarball)
            secret = os.path.join(work, "client-secret")
            with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
                handle.write(cloud.reader[1])
            cloud_url = cloud.url.replace("127.0.0.1", "localhost") + "/v2"  # the lab certificate names localhost
            cloud_vars = {"ohif_viewer_mode": "cloud", "ohif_viewer_dicomweb_ca_path": env["ca_bundle"],
                          "ohif_viewer_htpasswd_path": write_htpasswd(os.path.join(work, "htpasswd"), *VIEWER_LOGIN),
                          "ohif_viewer_oauth": {"Provider": "client_credentials", "ClientId": cloud.reader[0],
                                                "TokenEndpoint": cloud.token_endpoint, "ClientSecretFile": secret,
                                                "CaBundle": env["ca_bundle"]}}
            viewers.add("onprem", ohif_viewer_mode="onprem", ohif_viewer_dicomweb_url=orthanc.url + "/dicom-web")
            viewers.add("cloud", ohif_viewer_dicomweb_url=cloud_url, **cloud_vars)
            if bad_viewers:
                # Bad input that only shows at run time: a PACS that does not answer, a cloud path that does not exist.
                viewers.add("unreachable", ohif_viewer_mode="onprem",
                            ohif_viewer_dicomweb_url="http://127.0.0.1:9/dicom-web")
                viewers.add("wrongpath", ohif_viewer_dicomweb_url=cloud_url.replace("/v2", "/v9"), **cloud_vars)
            first = viewers.apply()
            if first[0] != 0:
                raise RuntimeError("the ohif_viewer role failed:\n" + first[3][-4000:])
            second = viewers.apply() if idempotence_run else None
            viewers.start()
            yield {"orthanc": orthanc, "onprem_studies": onprem_studies, "cloud": cloud,
                   "cloud_studies": cloud_studies, "viewers": viewers, "runs": (first, second), "ca": ca.cert_path}
    finally:
        if viewers:
            viewers.stop()
        orthanc.stop()
