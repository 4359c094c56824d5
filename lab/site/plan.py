"""Names and addresses of one lab site: its podman network, the gateway the host answers on, the PACS host."""
import ipaddress
from dataclasses import dataclass

# The hospital's Linux host: the lab's Debian 12 systemd host with the site's own PostgreSQL (lab/images/site),
# one of lab.containers.images.IMAGES.
SITE_IMAGE = "site-bookworm"


@dataclass(frozen=True)
class SitePlan:
    """One site. Every container and network it creates carries the label io.medimaging.lab=<owner>."""
    owner: str = "hybrid-lab"
    network: str = "medimaging-site"
    subnet: str = "10.89.70.0/24"

    @property
    def gateway(self):
        """The host's address on the site network: where the site reaches the cloud side (through the relay)."""
        return str(ipaddress.ip_network(self.subnet)[1])

    @property
    def pacs_address(self):
        return str(ipaddress.ip_network(self.subnet)[10])

    @property
    def pacs_container(self):
        return f"{self.owner}-pacs"


# The hybrid lab's site (make lab); tests use their own owner, network and subnet.
HYBRID_LAB = SitePlan()
