"""Generate realistic, valid DICOM instances with pydicom (no patient data: synthetic names and IDs)."""
import datetime
import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

# SOP classes per modality; CR uses Computed Radiography Image Storage.
SOP_CLASS = {
    "CT": CTImageStorage,
    "MR": MRImageStorage,
    "CR": "1.2.840.10008.5.1.4.1.1.1",
}
BODY_PART = {"CT": "CHEST", "MR": "HEAD", "CR": "CHEST"}


def make_dataset(patient_id="LAB0001", patient_name="LAB^PATIENT", study_uid=None, series_uid=None,
                 modality="CT", study_date=None, instance_number=1, rows=64, columns=64, accession=None,
                 station_ae="LABMODALITY", seed=0):
    """A dataset with file meta, ready to write; pixel data is a deterministic gradient plus noise."""
    study_date = study_date or datetime.date.today()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101500"
    ds.AccessionNumber = accession or f"ACC{abs(hash(ds.StudyInstanceUID)) % 10**8:08d}"
    ds.StudyID = "1"
    ds.StudyDescription = f"{modality} {BODY_PART[modality].title()}"
    ds.SeriesDescription = f"{modality} series"
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance_number
    ds.Modality = modality
    ds.BodyPartExamined = BODY_PART[modality]
    ds.StationName = station_ae
    ds.Manufacturer = "medimaging lab"
    ds.ReferringPhysicianName = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    rng = np.random.default_rng(seed + instance_number)
    gradient = np.add.outer(np.arange(rows), np.arange(columns)).astype(np.uint16) * 8
    pixels = (gradient + rng.integers(0, 64, size=(rows, columns), dtype=np.uint16)) & 0x0FFF
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return ds


def to_bytes(dataset):
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def make_instance(**kwargs):
    """Bytes of a valid Part 10 file; keyword arguments as make_dataset()."""
    return to_bytes(make_dataset(**kwargs))


def make_study(instances=3, **kwargs):
    """A list of Part 10 byte strings sharing one study and series."""
    study_uid = kwargs.pop("study_uid", None) or generate_uid()
    series_uid = kwargs.pop("series_uid", None) or generate_uid()
    return [make_instance(study_uid=study_uid, series_uid=series_uid, instance_number=i + 1, **kwargs)
            for i in range(instances)]
