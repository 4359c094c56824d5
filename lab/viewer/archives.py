"""The two archives the lab's viewers open: a hospital Orthanc (DICOMweb, basic auth) and a DICOM service on the
Azure emulator, each holding studies with real pixel data from lab/dicom_factory.py."""
import io
import uuid
from dataclasses import dataclass

import requests
from pydicom import dcmread

from lab.dicom_factory import make_study
from lab.orthanc import OrthancProcess

DICOM_SCOPE = "https://dicom.healthcareapis.azure.com/.default"
DICOM_DATA_OWNER = "58a3b984-7adf-4c20-983a-32417c86fbc8"
DICOM_DATA_READER = "e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a"


@dataclass
class Study:
    patient_id: str
    patient_name: str
    study_uid: str
    instances: list


def cohort(prefix, count=2, instances=3, rows=128):
    """`count` studies of one patient each (CT, then MR), `instances` slices each."""
    studies = []
    for index in range(count):
        modality = ("CT", "MR", "CR")[index % 3]
        files = make_study(instances=instances, patient_id=f"{prefix}{index + 1:03d}",
                           patient_name=f"{prefix}^PATIENT{index + 1}", modality=modality, rows=rows, columns=rows,
                           seed=index)
        uid = dcmread(io.BytesIO(files[0]), stop_before_pixels=True).StudyInstanceUID
        studies.append(Study(f"{prefix}{index + 1:03d}", f"{prefix}^PATIENT{index + 1}", uid, files))
    return studies


def start_onprem_orthanc(workdir, user, password):
    """Orthanc with DICOMweb at /dicom-web/ and one login, like orthanc_host's PACS."""
    orthanc = OrthancProcess(workdir, name="viewer-pacs", plugins=["DicomWeb"], auth=(user, password), config={
        "AuthenticationEnabled": True, "RegisteredUsers": {user: password},
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}})
    return orthanc.start()


def stow_body(files, boundary="viewerBoundary"):
    parts = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
                     for data in files)
    return parts + f"--{boundary}--\r\n".encode(), f'multipart/related; type="application/dicom"; boundary={boundary}'


class CloudDicom:
    """A DICOM service on the emulator, an uploader app (Data Owner) and the viewer's app (Data Reader only)."""

    def __init__(self, env, resource_group="rg-viewer", workspace="wsviewer", service="viewer"):
        self.env = env
        self.names = (resource_group, workspace, service)
        self.url = None
        self.reader = None  # (client_id, secret)
        self._writer = None

    def _credential(self, client_id=None, secret=None):
        from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel
        return ClientSecretCredential(self.env["tenant_id"], client_id or self.env["client_id"],
                                      secret or self.env["client_secret"], authority=self.env["authority_host"],
                                      disable_instance_discovery=True)

    def _client(self, cls):
        return cls(self._credential(), self.env["subscription_id"], base_url=self.env["arm_endpoint"],
                   credential_scopes=["https://management.azure.com/.default"])

    def _app(self, name):
        graph, token = self.env["graph_endpoint"], self._credential().get_token("https://graph.microsoft.com/.default")
        headers = {"Authorization": "Bearer " + token.token}
        app = requests.post(f"{graph}/applications", json={"displayName": name}, headers=headers, timeout=30).json()
        secret = requests.post(f"{graph}/applications/{app['id']}/addPassword", json={"passwordCredential": {}},
                               headers=headers, timeout=30).json()["secretText"]
        sp = requests.post(f"{graph}/servicePrincipals", json={"appId": app["appId"]}, headers=headers,
                           timeout=30).json()
        return app["appId"], secret, sp["id"]

    def create(self):
        # pylint: disable=import-outside-toplevel
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.healthcareapis import HealthcareApisManagementClient
        from azure.mgmt.resource.resources import ResourceManagementClient
        group, workspace, service = self.names
        self._client(ResourceManagementClient).resource_groups.create_or_update(group, {"location": "westeurope"})
        hc = self._client(HealthcareApisManagementClient)
        hc.workspaces.begin_create_or_update(group, workspace, {"location": "westeurope"}).result()
        resource = hc.dicom_services.begin_create_or_update(group, workspace, service,
                                                            {"location": "westeurope"}).result()
        self.url = resource.service_url
        roles = self._client(AuthorizationManagementClient).role_assignments
        role = f"/subscriptions/{self.env['subscription_id']}/providers/Microsoft.Authorization/roleDefinitions/"
        writer_id, writer_secret, writer = self._app("viewer-uploader")
        reader_id, reader_secret, reader = self._app("ohif-viewer")
        roles.create(resource.id, str(uuid.uuid4()), {"role_definition_id": role + DICOM_DATA_OWNER,
                                                       "principal_id": writer})
        roles.create(resource.id, str(uuid.uuid4()), {"role_definition_id": role + DICOM_DATA_READER,
                                                       "principal_id": reader})
        self._writer = (writer_id, writer_secret)
        self.reader = (reader_id, reader_secret)
        return self

    @property
    def token_endpoint(self):
        return f"{self.env['authority_host'].rstrip('/')}/{self.env['tenant_id']}/oauth2/v2.0/token"

    def stow(self, study):
        token = self._credential(*self._writer).get_token(DICOM_SCOPE).token
        body, content_type = stow_body(study.instances)
        answer = requests.post(f"{self.url}/v2/studies", data=body, timeout=120, verify=self.env["ca_bundle"],
                               headers={"Authorization": "Bearer " + token, "Content-Type": content_type,
                                        "Accept": "application/dicom+json"})
        if answer.status_code not in (200, 202, 409):
            raise RuntimeError(f"STOW to the lab DICOM service answered {answer.status_code}: {answer.text[:300]}")

