"""OpenShift's namespace security allocation: every Namespace gets its own UID block, supplemental-group block and
SELinux MCS label as annotations, which the restricted-v2 SCC then uses. OpenShift's controller does it just after
the Namespace is created; the lab does it in admission, so a pod created right after its namespace finds them.

Blocks of 10000 from 1000000000 (OpenShift's defaults); block n also gives MCS label n in OpenShift's order
(s0:c1,c0  s0:c2,c0  s0:c2,c1  s0:c3,c0 ...).
"""
import threading

UID_RANGE = "openshift.io/sa.scc.uid-range"
SUPPLEMENTAL_GROUPS = "openshift.io/sa.scc.supplemental-groups"
MCS = "openshift.io/sa.scc.mcs"
FIRST_UID, BLOCK_SIZE, BLOCKS = 1000000000, 10000, 100000


def mcs_label(block):
    """The n-th (0-based) two-category label: pairs (a, b) with a > b, ordered by a then b."""
    high = 1
    while block >= high:
        block -= high
        high += 1
    return f"s0:c{high},c{block}"


def block_of(annotations):
    """The block a namespace holds (from its uid-range annotation), or None."""
    try:
        start = int((annotations or {}).get(UID_RANGE, "").split("/")[0])
    except ValueError:
        return None
    return (start - FIRST_UID) // BLOCK_SIZE if start >= FIRST_UID else None


def annotations_for(block):
    start = FIRST_UID + block * BLOCK_SIZE
    return {UID_RANGE: f"{start}/{BLOCK_SIZE}", SUPPLEMENTAL_GROUPS: f"{start}/{BLOCK_SIZE}", MCS: mcs_label(block)}


def parse_range(value):
    """ "1000680000/10000" (OpenShift also accepts "start-end") -> (first, last), or None when malformed."""
    try:
        if "/" in value:
            start, size = (int(part) for part in value.split("/", 1))
            return (start, start + size - 1) if size > 0 else None
        start, end = (int(part) for part in value.split("-", 1))
        return (start, end) if end >= start else None
    except (AttributeError, ValueError):
        return None


class Allocator:
    """Hands out blocks; `existing` lists the Namespaces already stored (so a restarted API does not reuse one)."""

    def __init__(self, existing=None):
        self._lock = threading.Lock()
        self._existing = existing or (lambda: [])
        self._taken = set()

    def allocate(self, reserve=True):
        with self._lock:
            taken = self._taken | {block_of((ns.get("metadata") or {}).get("annotations")) for ns in self._existing()}
            block = next(n for n in range(BLOCKS) if n not in taken)
            if reserve:
                self._taken.add(block)
            return block

    def annotate(self, namespace, reserve=True):
        """Give a Namespace dict its annotations unless it already has a uid range (kept as the user set it).
        reserve=False (a dry run) shows the next block without using it up."""
        annotations = namespace.setdefault("metadata", {}).setdefault("annotations", {})
        if UID_RANGE in annotations:
            return
        for key, value in annotations_for(self.allocate(reserve)).items():
            annotations.setdefault(key, value)


class NamespaceSecurityAllocation:
    """Admission on Namespace CREATE (a dry run is annotated too, without using up a block)."""
    name = "openshift.io/NamespaceSecurityAllocation"
    mutating = True

    def __init__(self, allocator):
        self.allocator = allocator

    def admit(self, request):
        if request.operation == "CREATE" and request.resource.plural == "namespaces" and request.obj \
                and not request.subresource:
            self.allocator.annotate(request.obj, reserve=not request.dry_run)
