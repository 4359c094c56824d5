"""Is Azure Arc's workload identity on for this lab cluster? Asked of the lab's ARM, as the Arc agents learn it.

On Arc, `az connectedk8s connect|update --enable-workload-identity` sets securityProfile.workloadIdentity.enabled on
the connected cluster, and the agents then install the workload identity webhook in the cluster (and remove it when
it is turned off or the cluster offboarded). The lab's stand-in agents cannot write to the API, so the OpenShift
flavour asks instead, when a pod the webhook would select is created: is a connected cluster backed by this lab
cluster (tag lab-cluster, else its name, as the emulator pairs them) Connected with workload identity on?

The lab admin's client credentials (lab.json) read the subscription's connected clusters; the answer is kept a few
seconds (a ReplicaSet makes its pods together). A lab that cannot answer refuses the pod (the real webhook's
failurePolicy is Fail): better than a pod that silently runs without its identity.
"""
import json
import ssl
import threading
import time
import urllib.parse
import urllib.request

from lab.kube.contracts import AdmissionDenied

PROVIDER = "Microsoft.Kubernetes"
TYPE = "connectedClusters"
MGMT_SCOPE = "https://management.azure.com/.default"


class ArcWorkloadIdentityGate:
    def __init__(self, lab_env, cluster_name, ttl=5.0, timeout=15):
        self.env, self.cluster_name, self.ttl, self.timeout = lab_env, cluster_name.lower(), ttl, timeout
        self.context = ssl.create_default_context(cafile=lab_env["ca_bundle"])
        self.lock = threading.Lock()
        self.cached = None                # (monotonic time, answer)
        self.api_version = None

    def __call__(self):
        with self.lock:
            if self.cached and time.monotonic() - self.cached[0] < self.ttl:
                return self.cached[1]
            try:
                answer = self.ask()
            except (OSError, ValueError, KeyError, StopIteration) as err:
                raise AdmissionDenied(f"lab: cannot tell whether Azure Arc's workload identity is on for cluster "
                                      f"{self.cluster_name!r} (the lab's ARM at {self.env['arm_endpoint']} answered: "
                                      f"{err}); start the lab (`python -m lab up`) and create the pod again",
                                      code=500, reason="InternalError") from err
            self.cached = (time.monotonic(), answer)
            return answer

    def connected_cluster(self):
        """The connected cluster resource backed by this lab cluster, or None."""
        token = self._token()
        base = self.env["arm_endpoint"].rstrip("/") + "/subscriptions/" + self.env["subscription_id"]
        if not self.api_version:
            listing = self._get(f"{base}/providers/{PROVIDER}?api-version=2021-04-01", token)
            self.api_version = next(t["apiVersions"][0] for t in listing["resourceTypes"]
                                    if t["resourceType"].lower() == TYPE.lower())
        found = self._get(f"{base}/providers/{PROVIDER}/{TYPE}?api-version={self.api_version}", token)["value"]
        for resource in found:
            if ((resource.get("tags") or {}).get("lab-cluster") or resource["name"]).lower() == self.cluster_name:
                return resource
        return None

    def ask(self):
        resource = self.connected_cluster()
        if not resource:
            return False
        props = resource.get("properties") or {}
        enabled = ((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")
        return bool(enabled) and props.get("connectivityStatus") == "Connected"

    def _token(self):
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self.env["client_id"],
                                       "client_secret": self.env["client_secret"], "scope": MGMT_SCOPE}).encode()
        url = f"{self.env['authority_host'].rstrip('/')}/{self.env['tenant_id']}/oauth2/v2.0/token"
        with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=self.timeout,
                                    context=self.context) as answer:
            return json.load(answer)["access_token"]

    def _get(self, url, token):
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as answer:
            return json.load(answer)
