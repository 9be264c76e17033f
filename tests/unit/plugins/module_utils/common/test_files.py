# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Files written whole or not at all."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.common import files


def test_a_file_is_replaced_whole_with_its_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    files.write_whole(str(path), "new", 0o600)
    assert path.read_text() == "new" and (os.stat(str(path)).st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    path.write_text("old")

    def refuse(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError):
        files.write_whole(str(path), "new", 0o644)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]
