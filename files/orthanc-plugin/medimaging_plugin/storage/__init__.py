"""MedimagingStorage: Orthanc's attachments in Azure Blob or S3 without a stored secret (see README.md)."""
