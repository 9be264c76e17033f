# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Files written whole or not at all, on the machine the code runs on."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile


def write_whole(path, text, mode):
    """Write ``text`` to ``path`` with ``mode``: into a temporary file beside it, renamed over it, so that a
    reader sees the old file or the new one, never part of one."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
