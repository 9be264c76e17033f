#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The kubeconfig inventory plugin: the cluster's contexts become hosts (ansible-inventory), and a play over
# them reaches the right cluster through the variables the plugin sets.
set -eux
CLUSTER="../setup_localkube/files/cluster.py"
STATE="${OUTPUT_DIR}/localkube"
python="$(command -v python)"
trap '"$python" "$CLUSTER" stop "$STATE"' EXIT
kubeconfig="$("$python" "$CLUSTER" start "$STATE" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["kubeconfig"])')"
cat > "${OUTPUT_DIR}/clusters.kubeconfig.yml" <<YAML
plugin: helmops.unstick.kubeconfig
kubeconfigs: ["${kubeconfig}"]
YAML
ansible-inventory -i "${OUTPUT_DIR}/clusters.kubeconfig.yml" --list > "${OUTPUT_DIR}/inventory.json"
"$python" - "${OUTPUT_DIR}/inventory.json" "$kubeconfig" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))
assert inv["helm_clusters"]["hosts"] == ["localkube"], inv
var = inv["_meta"]["hostvars"]["localkube"]["stuck_releases_kubeconfig"]
assert var in (sys.argv[2], {"__ansible_unsafe": sys.argv[2]}), var
PY
ansible-playbook -i "${OUTPUT_DIR}/clusters.kubeconfig.yml" -e "ansible_python_interpreter=$python" scan.yml "$@"
