"""Static check: files/helm/orthanc rendered with values-openshift.yaml (`helm template`, real helm) satisfies
restricted-v2 as the SCC spells it (REFERENCE.md: no runAsUser, so the project's range applies; GID 0: no runAsGroup
other than 0; no privilege, escalation or added capabilities; drop ALL; seccomp RuntimeDefault; only the volume types
it allows; no host namespaces) and the seed's guardrails (no latest tag, resource limits on every container, no privileged container).
The checker is shown to catch each violation, so a green run means something."""
import copy

import pytest
from helm_chart.helm_chart_render import render

# restricted-v2's allowed volume sources (security.openshift.io SecurityContextConstraints "volumes").
SCC_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
               "secret"}
IN_CLUSTER_DB = {"database": {"mode": "inCluster", "inCluster": {"credentialsSecret": {"name": "pg"}}}}
OPENSHIFT = ("values-openshift.yaml",)


def pod_specs(docs):
    for doc in docs:
        template = (doc.get("spec") or {}).get("template")
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job") and template:
            yield "%s/%s" % (doc["kind"], doc["metadata"]["name"]), template["spec"]


def violations(docs):
    """What restricted-v2 or the guardrails would refuse in the rendered manifests, one line each."""
    found = []
    for where, spec in pod_specs(docs):
        pod = spec.get("securityContext") or {}
        for key in ("runAsUser", "fsGroup", "supplementalGroups"):
            if key in pod:
                found.append("%s: pod %s is pinned (the project's range gives it)" % (where, key))
        if pod.get("runAsGroup", 0) != 0:       # arbitrary UID with GID 0: the image's files are group 0
            found.append("%s: pod runAsGroup is not 0" % where)
        if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            found.append("%s: pod seccompProfile is not RuntimeDefault" % where)
        found += ["%s: %s" % (where, key) for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
        for volume in spec.get("volumes") or []:
            kinds = set(volume) - {"name"}
            if not kinds <= SCC_VOLUMES:
                found.append("%s: volume %s is %s" % (where, volume["name"], sorted(kinds)))
        for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            at = "%s container %s" % (where, container["name"])
            sc = container.get("securityContext") or {}
            capabilities = sc.get("capabilities") or {}
            if sc.get("privileged"):
                found.append(at + ": privileged")
            if "runAsUser" in sc:
                found.append(at + ": runAsUser")
            if sc.get("runAsGroup", 0) != 0:
                found.append(at + ": runAsGroup is not 0")
            if sc.get("allowPrivilegeEscalation") is not False:
                found.append(at + ": allowPrivilegeEscalation is not false")
            if capabilities.get("add"):
                found.append(at + ": adds %s" % capabilities["add"])
            if "ALL" not in (capabilities.get("drop") or []):
                found.append(at + ": does not drop ALL")
            image = container["image"]
            if image.endswith(":latest") or not (":" in image.rsplit("/", 1)[-1] or "@sha256:" in image):
                found.append(at + ": image %s is not pinned" % image)
            limits = (container.get("resources") or {}).get("limits") or {}
            if not ("cpu" in limits and "memory" in limits):
                found.append(at + ": no cpu and memory limits")
    return found


@pytest.mark.parametrize("extra", [{}, IN_CLUSTER_DB], ids=["external-db", "in-cluster-db"])
def test_the_chart_with_values_openshift_passes(extra):
    docs = render(extra, files=OPENSHIFT)
    assert sorted(where for where, _ in pod_specs(docs))          # there are workloads to check
    assert violations(docs) == []


def _container(docs):
    return next(spec for _, spec in pod_specs(docs))["containers"][0]


def _pod(docs):
    return next(spec for _, spec in pod_specs(docs))


# Each violation written into a copy of the good render (the chart's schema already refuses most of these values,
# so the manifests are changed directly: the check must catch them whatever produced them).
MUTATIONS = {
    "privileged": (lambda d: _container(d)["securityContext"].update(privileged=True), "privileged"),
    "run-as-user": (lambda d: _pod(d)["securityContext"].update(runAsUser=1000), "pod runAsUser is pinned"),
    "container-run-as-user": (lambda d: _container(d)["securityContext"].update(runAsUser=0), ": runAsUser"),
    "run-as-group": (lambda d: _pod(d)["securityContext"].update(runAsGroup=1000), "pod runAsGroup is not 0"),
    "container-run-as-group": (lambda d: _container(d)["securityContext"].update(runAsGroup=1000),
                               ": runAsGroup is not 0"),
    "capabilities": (lambda d: _container(d)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
                     "adds ['NET_ADMIN']"),
    "escalation": (lambda d: _container(d)["securityContext"].pop("allowPrivilegeEscalation"),
                   "allowPrivilegeEscalation"),
    "no-drop-all": (lambda d: _container(d)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
                    "does not drop ALL"),
    "host-path": (lambda d: _pod(d)["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "hostPath"),
    "host-network": (lambda d: _pod(d).update(hostNetwork=True), "hostNetwork"),
    "latest": (lambda d: _container(d).update(image="registry.example.org/medimaging/orthanc:latest"),
               "is not pinned"),
    "untagged": (lambda d: _container(d).update(image="registry.example.org/medimaging/orthanc"), "is not pinned"),
    "no-limits": (lambda d: _container(d)["resources"].pop("limits"), "no cpu and memory limits"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_the_check_catches_each_violation(case):
    docs = copy.deepcopy(render({}, files=OPENSHIFT))
    mutate, words = MUTATIONS[case]
    mutate(docs)
    assert [line for line in violations(docs) if words in line], violations(docs)
