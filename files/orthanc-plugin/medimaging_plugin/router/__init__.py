"""MedimagingRouter: forwards stable studies to DICOMweb servers or Orthanc peers through a durable
PostgreSQL queue (see queue.py for the state machine, worker.py for the sending loop)."""
