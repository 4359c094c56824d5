"""A simulated modality: C-STORE over one association, Nagle off on our side (see LAB-NOTES)."""
import socket
import time

from pydicom import dcmread
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE, DEFAULT_TRANSFER_SYNTAXES
from pynetdicom.sop_class import CTImageStorage, ComputedRadiographyImageStorage, MRImageStorage, Verification

from lab.dicom_factory import make_study

CONTEXTS = (CTImageStorage, ComputedRadiographyImageStorage, MRImageStorage, Verification)


class ModalityError(RuntimeError):
    pass


def _nodelay(association):
    sock = getattr(association.dul.socket, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def send(plans, host, port, called_aet, calling_aet="LABMODALITY", seed=0, implicit_vr=False):
    """Generate and C-STORE each planned study. Returns (sent studies, instances, bytes, seconds).

    implicit_vr: an older modality that proposes only Implicit VR Little Endian, so the PACS stores its instances in
    an encoding Azure's DICOM service refuses (the router must transcode them on the way to the cloud)."""
    import io

    ae = AE(ae_title=calling_aet)
    syntaxes = [ImplicitVRLittleEndian] if implicit_vr else DEFAULT_TRANSFER_SYNTAXES
    for context in CONTEXTS:
        ae.add_requested_context(context, transfer_syntax=syntaxes)
    association = ae.associate(host, port, ae_title=called_aet)
    if not association.is_established:
        raise ModalityError(f"association with {called_aet} at {host}:{port} was refused or failed")
    _nodelay(association)
    sent, instances, size = [], 0, 0
    started = time.monotonic()
    try:
        for number, plan in enumerate(plans):
            files = make_study(instances=plan["instances"], patient_id=plan["patient_id"],
                               patient_name=plan["patient_name"], modality=plan["modality"],
                               study_date=plan["study_date"], station_ae=calling_aet, seed=seed + number,
                               rows=256, columns=256)
            sop_uids = []
            for raw in files:
                dataset = dcmread(io.BytesIO(raw))
                if implicit_vr:  # pynetdicom encodes in the context's syntax; pydicom 3 checks the dataset agrees
                    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
                    dataset.set_original_encoding(True, True)
                status = association.send_c_store(dataset)
                if not status or status.Status != 0x0000:
                    raise ModalityError(f"C-STORE of study {dataset.StudyInstanceUID} answered {status}")
                sop_uids.append(str(dataset.SOPInstanceUID))
                instances += 1
                size += len(raw)
            sent.append({"study_uid": str(dataset.StudyInstanceUID), "patient_id": plan["patient_id"],
                         "patient_name": plan["patient_name"],
                         "modality": plan["modality"], "study_date": plan["study_date"].strftime("%Y%m%d"),
                         "sop_uids": sop_uids, "bytes": sum(len(r) for r in files)})
    finally:
        association.release()
    return sent, instances, size, time.monotonic() - started
