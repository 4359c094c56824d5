"""restricted-v2 SCC admission and the namespace security allocation (OpenShift's words and defaults)."""
import pytest

from lab.kube.contracts import AdmissionDenied, AdmissionRequest, ResourceType, UserInfo
from lab.kube.flavours import namespaces, scc

NS = {"apiVersion": "v1", "kind": "Namespace",
      "metadata": {"name": "pacs", "annotations": namespaces.annotations_for(68)}}
FIRST = 1000680000
DEVELOPER = ("developer", ("system:authenticated",))
ADMIN = ("kube:admin", ("system:cluster-admins", "system:authenticated"))


def pod(container_sc=None, pod_sc=None, **spec):
    container = {"name": "web", "image": "x"}
    if container_sc is not None:
        container["securityContext"] = container_sc
    body = {"containers": [container], **spec}
    if pod_sc is not None:
        body["securityContext"] = pod_sc
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "pacs"}, "spec": body}


def admit(the_pod, who=DEVELOPER, sccs=scc.DEFAULTS):
    return scc.admit_pod(the_pod, NS, sccs, *who)


def refusal(the_pod, who=DEVELOPER):
    with pytest.raises(AdmissionDenied) as err:
        admit(the_pod, who)
    assert err.value.code == 403
    return err.value.message


def test_pod_without_run_as_user_gets_the_first_uid_of_the_range_and_restricted_v2_defaults():
    out, name = admit(pod())
    assert name == "restricted-v2" and out["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"
    assert out["spec"]["securityContext"] == {"fsGroup": FIRST, "seLinuxOptions": {"level": "s0:c12,c2"},
                                              "seccompProfile": {"type": "RuntimeDefault"}}
    assert out["spec"]["containers"][0]["securityContext"] == {
        "runAsUser": FIRST, "runAsNonRoot": True, "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]}}
    assert "runAsGroup" not in out["spec"]["containers"][0]["securityContext"]   # GID 0, as on OpenShift


def test_uid_inside_the_range_and_net_bind_service_are_allowed():
    out, name = admit(pod({"runAsUser": FIRST + 42, "capabilities": {"add": ["NET_BIND_SERVICE"]}}))
    assert name == "restricted-v2"
    assert out["spec"]["containers"][0]["securityContext"]["capabilities"] == {"add": ["NET_BIND_SERVICE"],
                                                                               "drop": ["ALL"]}


@pytest.mark.parametrize("the_pod, reason", [
    (pod({"runAsUser": 0}), ".containers[0].runAsUser: Invalid value: 0: must be in the ranges: "
                            "[1000680000, 1000689999]"),
    (pod({"runAsUser": 1000}), ".containers[0].runAsUser: Invalid value: 1000: must be in the ranges"),
    (pod(pod_sc={"runAsUser": 0}), ".spec.securityContext.runAsUser: Invalid value: 0: must be in the ranges"),
    (pod({"privileged": True}), ".containers[0].privileged: Invalid value: true: Privileged containers are not "
                                "allowed"),
    (pod({"capabilities": {"add": ["SYS_ADMIN"]}}), '.containers[0].capabilities.add: Invalid value: "SYS_ADMIN": '
                                                    "capability may not be added"),
    (pod(hostNetwork=True), ".spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed"),
    (pod(hostPID=True), ".spec.securityContext.hostPID: Invalid value: true: Host PID is not allowed to be used"),
    (pod(hostIPC=True), ".spec.securityContext.hostIPC: Invalid value: true: Host IPC is not allowed to be used"),
    (pod(volumes=[{"name": "h", "hostPath": {"path": "/"}}]),
     'spec.volumes[0]: Invalid value: "hostPath": hostPath volumes are not allowed to be used'),
    (pod({"allowPrivilegeEscalation": True}), ".containers[0].allowPrivilegeEscalation: Invalid value: true: "
                                              "Allowing privilege escalation for containers is not allowed"),
    (pod(pod_sc={"fsGroup": 0}), ".spec.securityContext.fsGroup: Invalid value: []int64{0}: 0 is not an allowed group"),
])
def test_refused_with_the_scc_message(the_pod, reason):
    message = refusal(the_pod)
    assert message.startswith('pods "web" is forbidden: unable to validate against any security context '
                              'constraint: [provider "anyuid": Forbidden: not usable by user or serviceaccount, ')
    assert f"provider restricted-v2: {reason}" in message
    assert message.endswith('provider "privileged": Forbidden: not usable by user or serviceaccount]')


def test_every_reason_is_listed():
    message = refusal(pod({"runAsUser": 0, "privileged": True}, hostNetwork=True))
    assert message.count("provider restricted-v2:") == 3


def test_the_refusal_changes_nothing():
    original = pod({"runAsUser": 0})
    refusal(original)
    assert original == pod({"runAsUser": 0})


def test_cluster_admins_get_anyuid_for_root_and_privileged_for_host_features():
    assert admit(pod({"runAsUser": 0}), ADMIN)[1] == "anyuid"
    assert admit(pod({"privileged": True}), ADMIN)[1] == "privileged"
    # anyuid's priority 10 puts it first for those who may use it: OpenShift admits a cluster admin's plain pod with
    # anyuid too (no UID from the range), while the same pod from a Deployment gets restricted-v2.
    out, name = admit(pod(), ADMIN)
    assert name == "anyuid" and "runAsUser" not in out["spec"]["containers"][0]["securityContext"]


def test_a_service_account_named_in_the_scc_users_may_use_it():
    granted = [dict(s, users=["system:serviceaccount:pacs:arc"]) if s["metadata"]["name"] == "privileged" else s
               for s in scc.DEFAULTS]
    the_pod = pod({"privileged": True}, serviceAccountName="arc")
    assert admit(the_pod, sccs=granted)[1] == "privileged"
    with pytest.raises(AdmissionDenied):
        admit(pod({"privileged": True}), sccs=granted)   # the default service account is not granted


def test_namespace_without_annotations_is_refused_with_the_reason():
    bare = {"metadata": {"name": "bare", "annotations": {}}}
    with pytest.raises(AdmissionDenied, match="unable to find annotation openshift.io/sa.scc"):
        scc.admit_pod(pod(), bare, scc.DEFAULTS, *DEVELOPER)


def test_admission_object_on_create_only():
    pods = ResourceType("", "v1", "Pod", "pods")
    obj = pod()
    request = AdmissionRequest("CREATE", pods, "pacs", "web", obj, None, UserInfo(*DEVELOPER), namespace_object=NS,
                               lookup=lambda *args: None)
    scc.SccAdmission().admit(request)
    assert obj["spec"]["containers"][0]["securityContext"]["runAsUser"] == FIRST
    root = pod({"runAsUser": 0})
    with pytest.raises(AdmissionDenied):
        scc.SccAdmission().admit(AdmissionRequest("CREATE", pods, "pacs", "web", root, None, UserInfo(*DEVELOPER),
                                                  namespace_object=NS))


def test_pods_from_controllers_are_judged_by_their_service_account_not_the_controllers_rights():
    pods = ResourceType("", "v1", "Pod", "pods")
    controller = UserInfo("system:kube-controller-manager", ("system:masters",))
    root = pod({"runAsUser": 0})
    with pytest.raises(AdmissionDenied, match='provider "anyuid": Forbidden: not usable'):
        scc.SccAdmission().admit(AdmissionRequest("CREATE", pods, "pacs", "web", root, None, controller,
                                                  namespace_object=NS))
    plain = pod()
    scc.SccAdmission().admit(AdmissionRequest("CREATE", pods, "pacs", "web", plain, None, controller,
                                              namespace_object=NS))
    assert plain["metadata"]["annotations"]["openshift.io/scc"] == "restricted-v2"


def test_mcs_labels_follow_openshifts_order_and_blocks_do_not_repeat():
    assert [namespaces.mcs_label(n) for n in range(4)] == ["s0:c1,c0", "s0:c2,c0", "s0:c2,c1", "s0:c3,c0"]
    stored = [{"metadata": {"annotations": namespaces.annotations_for(0)}}]
    allocator = namespaces.Allocator(lambda: stored)
    first, second = {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}
    allocator.annotate(first)
    allocator.annotate(second)
    assert first["metadata"]["annotations"] == {namespaces.UID_RANGE: "1000010000/10000",
                                                namespaces.SUPPLEMENTAL_GROUPS: "1000010000/10000",
                                                namespaces.MCS: "s0:c2,c0"}
    assert second["metadata"]["annotations"][namespaces.UID_RANGE] == "1000020000/10000"
    dry = {"metadata": {"name": "c"}}
    namespaces.NamespaceSecurityAllocation(allocator).admit(AdmissionRequest(
        "CREATE", ResourceType("", "v1", "Namespace", "namespaces", False), "", "c", dry, None, UserInfo("u"),
        dry_run=True))
    assert dry["metadata"]["annotations"][namespaces.UID_RANGE] == "1000030000/10000"
    assert allocator.allocate() == 3                   # the dry run used nothing up
    mine = {"metadata": {"annotations": {namespaces.UID_RANGE: "5000/100"}}}
    allocator.annotate(mine)
    assert mine["metadata"]["annotations"] == {namespaces.UID_RANGE: "5000/100"}


@pytest.mark.parametrize("value, bounds", [("1000680000/10000", (1000680000, 1000689999)), ("10-20", (10, 20)),
                                           ("x/1", None), ("5/0", None), ("", None)])
def test_parse_range(value, bounds):
    assert namespaces.parse_range(value) == bounds
