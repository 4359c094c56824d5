"""C-ECHO as a modality sends it (pynetdicom), for tests that check a DICOM port answers."""


def c_echo(host, port, calling_aet, called_aet="ORTHANC", timeout=30):
    """The C-ECHO's status (0 = success), or None when the association is not established."""
    from pynetdicom import AE  # pylint: disable=import-outside-toplevel  # only tests and benchmarks need it
    from pynetdicom.sop_class import Verification  # pylint: disable=no-name-in-module,import-outside-toplevel
    ae = AE(ae_title=calling_aet)
    ae.acse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(Verification)
    association = ae.associate(host, int(port), ae_title=called_aet)
    if not association.is_established:
        return None
    try:
        return association.send_c_echo().Status
    finally:
        association.release()
