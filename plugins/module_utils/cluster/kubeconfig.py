# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubeconfig files as kubectl reads them: several files joined by ``:`` merged (the first file to name a
context, cluster or user wins), relative paths resolved against the file they came from, one context picked
with its cluster and user. ``connection.py`` turns the result into the one ``Connection``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure

DEFAULT_KUBECONFIG = "~/.kube/config"

#: kubeconfig fields that hold file paths, resolved against the file they came from
_PATH_FIELDS = {"cluster": ("certificate-authority",),
                "user": ("client-certificate", "client-key", "tokenFile")}


def _name_of(entry):
    return entry.get("name") if isinstance(entry, dict) else None


def _absolute_paths(doc, base):
    """Make a kubeconfig file's relative paths absolute (as kubectl resolves them),
    since helm gets a copy that lives elsewhere."""
    for section, field in (("clusters", "cluster"), ("users", "user")):
        for entry in doc.get(section) or []:
            body = entry.get(field) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for key in _PATH_FIELDS[field]:
                value = body.get(key)
                if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
                    body[key] = os.path.normpath(os.path.join(base, value))
                elif isinstance(value, str) and value:
                    body[key] = os.path.expanduser(value)
            command = (body.get("exec") or {}).get("command") if isinstance(body.get("exec"), dict) else None
            if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
                body["exec"]["command"] = os.path.normpath(os.path.join(base, command))


def read_kubeconfig(path):
    import yaml
    try:
        with open(path) as handle:
            # libyaml's parser when PyYAML has it: one kubeconfig per cluster, in every cluster's worker
            doc = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}  # nosec B506: safe
    except (IOError, OSError) as exc:
        raise ConnectionFailure("kubeconfig %s cannot be read: %s" % (file_hint(path), exc.strerror or exc))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark else ""
        raise ConnectionFailure("kubeconfig %s is not valid YAML%s: %s"
                                % (file_hint(path), where, getattr(exc, "problem", None) or "unreadable"))
    if not isinstance(doc, dict):
        raise ConnectionFailure("kubeconfig %s is not a kubeconfig (a mapping)" % file_hint(path))
    return doc


def file_hint(path):
    # The kubeconfig option is no_log, so Ansible masks its whole value wherever it
    # appears: name a file as "'FILE' in DIR" so the message stays readable; DIR is the
    # full directory tried, wherever a relative path was resolved from.
    directory, name = os.path.split(os.path.abspath(path))
    return "'%s' in %s" % (name, directory)


def on_controller(value, base=None):
    """A path, or several joined by ``os.pathsep`` (KUBECONFIG's form), with ``~`` expanded and each relative
    one made absolute against ``base`` (default: this process's working directory: on the controller, the
    directory ansible-playbook was started in; modules run in the playbook's directory instead)."""
    base = base or os.getcwd()
    return os.pathsep.join(os.path.normpath(os.path.join(base, os.path.expanduser(part.strip())))
                           for part in value.split(os.pathsep) if part.strip())


def kubeconfig_paths(value):
    """The files of a kubeconfig value: one path or several joined by ``os.pathsep``."""
    return [os.path.expanduser(part.strip()) for part in value.split(os.pathsep) if part.strip()]


def merge_kubeconfigs(paths):
    """kubectl's merge of several kubeconfig files: for each cluster, user and
    context name, and for current-context, the first file that sets it wins."""
    merged = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    seen = dict((section, set()) for section in ("clusters", "users", "contexts"))
    for path in paths:
        doc = read_kubeconfig(path)
        _absolute_paths(doc, os.path.dirname(os.path.abspath(path)))
        if not merged.get("current-context") and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
        for section in seen:
            for entry in doc.get(section) or []:
                name = _name_of(entry)
                if name and name not in seen[section]:
                    seen[section].add(name)
                    merged[section].append(entry)
    return merged


def _entry(doc, section, name):
    for entry in doc.get(section) or []:
        if _name_of(entry) == name:
            return entry
    return None


def pick_context(doc, wanted, where):
    names = [_name_of(c) for c in doc.get("contexts") or [] if _name_of(c)]
    context = wanted or doc.get("current-context")
    if not context:
        raise ConnectionFailure("%s sets no current-context and no context was given (contexts: %s)"
                                % (where, ", ".join(names) or "none"))
    entry = _entry(doc, "contexts", context)
    if entry is None:
        raise ConnectionFailure("context '%s' does not exist in %s (contexts: %s)"
                                % (context, where, ", ".join(names) or "none"))
    body = entry.get("context") or {}
    cluster = _entry(doc, "clusters", body.get("cluster"))
    if cluster is None:
        raise ConnectionFailure("context '%s' names cluster '%s', which %s does not define"
                                % (context, body.get("cluster"), where))
    user = _entry(doc, "users", body.get("user")) if body.get("user") else {"name": "", "user": {}}
    if user is None:
        raise ConnectionFailure("context '%s' names user '%s', which %s does not define"
                                % (context, body.get("user"), where))
    return context, copy.deepcopy(entry), copy.deepcopy(cluster), copy.deepcopy(user)
