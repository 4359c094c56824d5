"""The local hybrid lab: real services on 127.0.0.1 standing in for the clouds and the hospital.

Never shipped in the built collection (galaxy.yml build_ignore). Tests, benchmarks and `make lab` import it.
"""
