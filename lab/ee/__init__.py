"""The collection's execution environment in the lab: build it (image.py) and run a playbook in it as AWX does
(awx_job.py): ansible-runner, a private data dir, process isolation through podman."""
