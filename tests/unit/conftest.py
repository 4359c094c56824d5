"""Unit tests import the collection as ansible_collections.medimaging.orthanc (through the in-place symlink)."""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "medimaging", "orthanc")
if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.relpath(REPO_ROOT, os.path.dirname(LINK)), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
