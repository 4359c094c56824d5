"""The lab's AWS side: moto answers the AWS APIs on 127.0.0.1 (lab/aws/moto.py)."""
