# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by scripts/*: environment pointing Ansible and Python at this checkout.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.venv/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true
export PYTHONPATH="$ROOT/tests/support${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
