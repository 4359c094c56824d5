# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and atomically writing the secret-bearing files of the Orthanc modules (configuration, environment)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def read_text(path):
    """The file's text, or None when it does not exist (or cannot be read)."""
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def write_atomically(module, dest, text, fail_extra=None):
    """Write text to dest through a temporary file in the same folder (readers never see half a file)."""
    folder = os.path.dirname(dest)
    if not os.path.isdir(folder):
        module.fail_json(msg="the folder of dest does not exist: %s; create it first (the orthanc_host role does)" % folder,
                         **(fail_extra or {}))
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".%s-" % os.path.basename(dest))
    with os.fdopen(handle, "w") as out:
        out.write(text)
    module.atomic_move(tmp, dest)


def set_attributes(module, dest, owner, group, mode, changed):
    """Owner, group and mode of dest when it exists; returns changed, or True when they were fixed."""
    if not os.path.exists(dest):
        return changed
    file_args = module.load_file_common_arguments(dict(path=dest, owner=owner, group=group, mode=mode))
    return module.set_fs_attributes_if_different(file_args, changed)
