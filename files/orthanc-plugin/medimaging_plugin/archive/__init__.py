"""MedimagingArchive: restore archived studies from a Blob container (layout of orthanc_study_archive)."""
