"""The chart with values-openshift.yaml against the guardrails exactly as arc_onboard assigns them by default (Azure
Policy for Kubernetes, roles/arc_onboard/defaults/main.yml): every container's image matches the no-latest policy's
allowedContainerImagesRegex, its limits stay within cpuLimit and memoryLimit, none is privileged. So a cluster
governed by the role's own assignments admits the PACS. The policy regex is RE2 (Gatekeeper); this one is also valid
Python `re`, with the same meaning (no look-around, no backreferences)."""
import copy
import os
import re

import pytest
import yaml
from helm_chart.helm_chart_render import REPO, render
from openshift_guardrails.test_openshift_guardrails import IN_CLUSTER_DB, OPENSHIFT, pod_specs

with open(os.path.join(REPO, "roles", "arc_onboard", "defaults", "main.yml"), encoding="utf-8") as handle:
    DEFAULTS = yaml.safe_load(handle)
POLICY_IDS = {"no-privileged-containers": "95edb821-ddaf-4404-9732-666045e056b4",
              "resource-limits-required": "e345eecc-fa47-480f-9e88-67dcc122b164",
              "no-latest-image-tags": "febd0533-8e55-448f-b837-bd0e06f16469"}
UNITS = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "m": 0.001}


def quantity(text):
    """A Kubernetes quantity ("500m", "2", "512Mi") as a number."""
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(text)).groups()
    return float(number) * UNITS[unit]


def refusals(docs):
    """What the role's three default assignments would deny, one line each."""
    image_rule = re.compile(DEFAULTS["arc_onboard_no_latest_regex"].strip())
    cpu, memory = quantity(DEFAULTS["arc_onboard_policy_cpu_limit"]), quantity(DEFAULTS["arc_onboard_policy_memory_limit"])
    found = []
    for where, spec in pod_specs(docs):
        for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            at = "%s container %s" % (where, container["name"])
            if not image_rule.search(container["image"]):
                found.append(at + ": image %s outside allowedContainerImagesRegex" % container["image"])
            limits = (container.get("resources") or {}).get("limits") or {}
            if "cpu" not in limits or quantity(limits["cpu"]) > cpu:
                found.append(at + ": cpu limit %s not within %s" % (limits.get("cpu"), cpu))
            if "memory" not in limits or quantity(limits["memory"]) > memory:
                found.append(at + ": memory limit %s not within %s" % (limits.get("memory"), memory))
            if (container.get("securityContext") or {}).get("privileged"):
                found.append(at + ": privileged")
    return found


def test_the_defaults_assign_the_three_guardrails():
    assigned = {a["name"]: a["policy_definition_id"].rsplit("/", 1)[-1] for a in DEFAULTS["arc_onboard_policy_assignments"]}
    assert assigned == POLICY_IDS


@pytest.mark.parametrize("extra", [{}, IN_CLUSTER_DB], ids=["external-db", "in-cluster-db"])
def test_the_chart_passes_the_role_s_assignments(extra):
    docs = render(extra, files=OPENSHIFT)
    assert list(pod_specs(docs))
    assert refusals(docs) == []


def _first_container(docs):
    return next(spec for _, spec in pod_specs(docs))["containers"][0]


@pytest.mark.parametrize("change, words", [
    (lambda c: c.update(image="registry.example.org/medimaging/orthanc:latest"), "allowedContainerImagesRegex"),
    (lambda c: c.update(image="registry.example.org/medimaging/orthanc"), "allowedContainerImagesRegex"),
    (lambda c: c["resources"]["limits"].update(cpu="8"), "cpu limit 8"),
    (lambda c: c["resources"]["limits"].update(memory="16Gi"), "memory limit 16Gi"),
    (lambda c: c["resources"].pop("limits"), "cpu limit None"),
    (lambda c: c["securityContext"].update(privileged=True), "privileged"),
], ids=["latest", "untagged", "cpu", "memory", "no-limits", "privileged"])
def test_each_assignment_catches_its_violation(change, words):
    docs = copy.deepcopy(render({}, files=OPENSHIFT))
    change(_first_container(docs))
    assert [line for line in refusals(docs) if words in line], refusals(docs)


def test_pinned_tags_and_digests_pass_the_image_rule():
    rule = re.compile(DEFAULTS["arc_onboard_no_latest_regex"].strip())
    assert rule.search("registry.example.org/medimaging/orthanc:1.0")
    assert rule.search("registry.example.org/medimaging/orthanc:latest-1")      # a tag that only starts with it
    assert rule.search("registry.example.org/medimaging/orthanc@sha256:" + "a" * 64)
    assert not rule.search("registry.example.org:5000/medimaging/orthanc")       # a port is not a tag
