"""The cluster's controllers, each a thread over the Store (see base.Controller)."""
from lab.kube.controllers.deployment import DeploymentController
from lab.kube.controllers.endpoints import EndpointsController
from lab.kube.controllers.job import JobController
from lab.kube.controllers.replicaset import ReplicaSetController
from lab.kube.controllers.statefulset import StatefulSetController
from lab.kube.controllers.system import GarbageCollector, Namespaces, Scheduler, VolumeBinder

WORKLOADS = (DeploymentController, ReplicaSetController, StatefulSetController, JobController)
SYSTEM = (Scheduler, GarbageCollector, VolumeBinder, EndpointsController)


def start_all(store, state_dir, node_name, ca_file=""):
    """Start every controller; returns them (each has stop())."""
    loops = [Namespaces(store, state_dir, node_name, ca_file).start()]
    loops += [cls(store, state_dir, node_name).start() for cls in SYSTEM + WORKLOADS]
    return loops
