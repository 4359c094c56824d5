"""The aws_orthweb role's EC2 instances as real hosts in the lab (see lab/aws/README.md).

moto holds the instances as records; fleet.Fleet realizes each one as a systemd host container (image
aws-host-bookworm) on a podman network with the VPC's CIDR and the instance's own private address, booted with the
instance's real user data through cloud-init's NoCloud seed. Around them: database.py (a PostgreSQL stand-in for the
RDS endpoint, TLS only), imds.py (an IMDSv2 stand-in serving the instance role's credentials from moto), and
site_address.py (the Elastic IP: 127.0.0.1 ports forwarded to whichever instance moto associates the address with).
"""
