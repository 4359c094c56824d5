"""MedimagingPriors: when a patient's new study arrives, bring that patient's most recent prior
studies back from the cloud DICOM service (QIDO-RS by PatientID, then Orthanc's DICOMweb retrieve)."""
