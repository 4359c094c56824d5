"""The hybrid lab's story, step by step (`make lab` runs it through lab/playbooks/hybrid_story.yml).

A simulated modality sends studies to the hospital PACS; the story then looks at each place (on-prem Orthanc, the
cloud DICOM service, the Blob archive) and keeps a ledger of what was sent, so the summary can say whether anything
was lost. Everything here is lab tooling: the collection's roles and modules do the real work.
"""
