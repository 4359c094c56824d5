"""Where each sent study is now: the on-prem Orthanc, the cloud DICOM service, the Blob archive."""
import requests


class OnPrem:
    """The hospital PACS through its REST API."""

    def __init__(self, url, user, password):
        self.url, self.auth = url.rstrip("/"), (user, password)

    def instances(self, study_uid):
        found = requests.post(f"{self.url}/tools/lookup", data=study_uid, auth=self.auth, timeout=30).json()
        studies = [item["ID"] for item in found if item["Type"] == "Study"]
        if not studies:
            return set()
        answer = requests.get(f"{self.url}/studies/{studies[0]}/instances?expand", auth=self.auth, timeout=60).json()
        return {item["MainDicomTags"]["SOPInstanceUID"] for item in answer}

    def study_count(self):
        return len(requests.get(f"{self.url}/studies", auth=self.auth, timeout=30).json())

    def queue_entries(self):
        """Every entry of the router's durable queue, whatever its state (pending, in flight, done, dead)."""
        status = requests.get(f"{self.url}/medimaging/router/status", auth=self.auth, timeout=30).json()
        return sum(d[k] for d in status.get("destinations", {}).values() for k in ("pending", "inflight", "done", "dead"))

    def statistics(self):
        return requests.get(f"{self.url}/statistics", auth=self.auth, timeout=30).json()


class Cloud:
    """The Azure DICOM service (the lab's emulator), with a token for the on-prem app registration."""

    def __init__(self, service_url, identity, ca_bundle, scope):
        self.base = service_url.rstrip("/") + "/v2"
        self.identity, self.ca_bundle, self.scope = identity, ca_bundle, scope
        self._token = None

    def _headers(self):
        if self._token is None:
            answer = requests.post(self.identity["token_endpoint"], timeout=30, verify=self.ca_bundle,
                                   data={"grant_type": "client_credentials", "client_id": self.identity["client_id"],
                                         "client_secret": self.identity["client_secret"], "scope": self.scope})
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/dicom+json"}

    def instances(self, study_uid):
        answer = requests.get(f"{self.base}/studies/{study_uid}/instances", headers=self._headers(),
                              verify=self.ca_bundle, timeout=60)
        if answer.status_code in (204, 404):
            return set()
        answer.raise_for_status()
        return {item["00080018"]["Value"][0] for item in (answer.json() or [])}


class Archive:
    """The Blob container, read with the archive writer's identity (the same app registration)."""

    def __init__(self, container_url, identity, ca_bundle, authority_host):
        from azure.identity import ClientSecretCredential
        from azure.storage.blob import ContainerClient

        credential = ClientSecretCredential(identity["tenant_id"], identity["client_id"], identity["client_secret"],
                                            authority=authority_host, disable_instance_discovery=True,
                                            connection_verify=ca_bundle)
        # Azurite refuses the newest API versions (LAB-NOTES).
        self.container = ContainerClient.from_container_url(container_url, credential=credential,
                                                            api_version="2025-11-05", connection_verify=ca_bundle)

    def instances(self, study_uid):
        return {blob.name.rsplit("/", 1)[1][:-4] for blob in self.container.list_blobs(name_starts_with=study_uid + "/")
                if blob.name.endswith(".dcm")}
