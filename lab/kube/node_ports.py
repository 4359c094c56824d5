"""A node port for a Service whose nodePort a test or scenario pins (the DICOM NodePort of the OpenShift PACS).

Every lab cluster hands out 30000, 30001 ... to Services without a nodePort (lab/kube/api/defaults.py) and binds them
on the same 127.0.0.1, so a pinned port is drawn above that crowd, at random, among the ports free right now."""
import random

from lab.proc import port_in_use

PINNED_NODE_PORTS = range(30200, 32768)


def free_node_port(tries=200):
    for port in random.sample(PINNED_NODE_PORTS, tries):
        if not port_in_use(port):
            return port
    raise RuntimeError("no free node port on 127.0.0.1 in %d-%d" % (PINNED_NODE_PORTS[0], PINNED_NODE_PORTS[-1]))
