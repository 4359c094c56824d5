"""A local Azure: Entra ID, a minimal Microsoft Graph and Resource Manager, one HTTPS service on 127.0.0.1,
with real data planes (Orthanc for DICOM, Azurite for Blob, the lab PostgreSQL for flexible servers).
Started by the launcher (`python -m lab up`), or alone with `python -m lab.azure --lab-dir DIR`.
"""
