# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the modules that act on one named release (helm_guard, helm_release): which release, where
    # Helm keeps its records, and how helm rolls it back on the guarded write path.
    DOCUMENTATION = r"""
options:
  namespace:
    description: Namespace of the release.
    type: str
    required: true
  release:
    description: Name of the release.
    type: str
    required: true
  storage_driver:
    description:
      - Where Helm keeps release records. Defaults to the E(HELM_DRIVER) environment variable (read as Helm
        reads it), else C(secret).
    type: str
    choices: [secret, configmap]
  helm_binary:
    description: The helm CLI (a path, or a name looked up on E(PATH)).
    type: str
    default: helm
  wait:
    description: Pass helm's wait flag (C(--wait) for helm 3, C(--wait=watcher) for helm 4) to C(helm rollback).
    type: bool
    default: true
  timeout:
    description: helm's C(--timeout) for C(helm rollback) (Go duration or seconds); helm is killed 60 s after it.
    type: raw
    default: 5m
  backup_dir:
    description:
      - Before changing a record, write the records the change may touch, exactly as the API returned them, to
        files under this directory (mode 0600). They hold the release values, which often hold secrets.
    type: path
  request_timeout:
    description: How long to wait for each answer of the API server.
    type: raw
    default: 60s
  cluster_timeout:
    description:
      - The most the whole module run may take on the cluster, in seconds or as a duration (V(10m)); every request,
        retry and helm call is cut to what is left of it, and nothing is started after it.
    type: raw
    default: 30m
"""
