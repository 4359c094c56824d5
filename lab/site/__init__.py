"""The hospital's site in the lab: a podman network, the PACS host (a systemd container with the site's own
PostgreSQL) on it, a relay that lets the site reach the cloud side on the network's gateway, and real network cuts.

    python -m lab.site up|down|status          (python -m lab.site --help)
"""
