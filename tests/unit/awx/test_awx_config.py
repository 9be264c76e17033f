# SPDX-License-Identifier: GPL-3.0-or-later
"""awx/ config as code, checked without AWX: survey variables are variables of the role
(validated by the role's own argument spec, as at run time), schedules have the rrules they
claim (and follow their variables), credential types inject exactly the K8S_AUTH_* names
kubernetes.core / helm_unstick read, and every awx.awx task uses options its module has."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from dateutil.rrule import rrulestr

import awx_config
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import parse_duration
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_MAP
from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as k8s_client

ROOT = Path(__file__).resolve().parents[3]
ROLE_SPEC = yaml.safe_load((ROOT / "roles/stuck_releases/meta/argument_specs.yml").read_text())[
    "argument_specs"]["main"]["options"]
REPORT, REMEDIATE = "Helm stuck releases — report", "Helm stuck releases — remediate"
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# AWX's injector of the built-in "OpenShift or Kubernetes API Bearer Token" credential
# (awx/main/models/credential/injectors.py, kubernetes_bearer_token)
AWX_BEARER_TOKEN_ENV = {"K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_VERIFY_SSL", "K8S_AUTH_SSL_CA_CERT"}


def role_validator():
    spec = {}
    for name, opt in ROLE_SPEC.items():
        spec[name] = {k: v for k, v in opt.items() if k in ("type", "elements", "choices", "default", "no_log")}
    return ArgumentSpecValidator(spec)


def k8s_core_env_names():
    """Every K8S_AUTH_* name kubernetes.core's _create_auth_spec (used by helm_unstick) reads."""
    return {"K8S_AUTH_" + name.upper() for pair in AUTH_ARG_MAP.items() for name in pair}


@pytest.fixture(scope="module")
def cfg():
    return awx_config.config()


def test_job_templates_run_the_collection_playbooks(cfg):
    templates = {jt["name"]: jt for jt in cfg["helmops_awx_job_templates"]}
    assert set(templates) == {REPORT, REMEDIATE}
    for jt in templates.values():
        plays = yaml.safe_load((ROOT / jt["playbook"]).read_text())
        assert plays[0]["hosts"] == "localhost"                 # the host-pattern check comes first
        play = [p for p in plays if "tasks" in p and p["hosts"] != "localhost"][0]
        assert play["tasks"][0]["ansible.builtin.import_role"]["name"] == "helmops.unstick.stuck_releases"
        assert play["vars"]["stuck_releases_remediate"] is (jt["name"] == REMEDIATE), jt
    # the report template cannot be talked into changing anything
    assert "stuck_releases_remediate" not in [q["variable"] for q in templates[REPORT]["survey"]]


@pytest.mark.parametrize("template", [REPORT, REMEDIATE])
def test_survey_questions_are_role_variables_and_every_answer_validates(cfg, template):
    survey = awx_config.job_template(template)["survey"]
    variables = [q["variable"] for q in survey]
    assert len(set(variables)) == len(variables)
    required = {"stuck_releases_min_age", "stuck_releases_namespaces", "stuck_releases_fail_on_stuck"}
    if template == REMEDIATE:
        required |= {"stuck_releases_strategy", "stuck_releases_remediate"}
    assert required <= set(variables)
    validator = role_validator()
    for q in survey:
        assert {"question_name", "variable", "type", "required"} <= set(q), q
        assert q["type"] in SURVEY_TYPES, q
        var = q["variable"]
        assert var in ROLE_SPEC, "%s is not a variable of the role" % var
        spec = ROLE_SPEC[var]
        answers = q["choices"] if q["type"] == "multiplechoice" else [q.get("default")]
        for answer in answers:
            result = validator.validate({var: answer})
            assert not result.error_messages, (var, answer, result.error_messages)
        if q["type"] == "multiplechoice":
            assert q["default"] in q["choices"], q
            if spec["type"] == "bool":  # yes/no: both outcomes reachable, the default is the role's
                assert {boolean(c) for c in q["choices"]} == {True, False}, q
            else:
                assert set(q["choices"]) <= set(spec["choices"]) and q["default"] == spec["default"], q
    by_var = {q["variable"]: q for q in survey}
    assert parse_duration(by_var["stuck_releases_min_age"]["default"]) == 15 * 60
    assert by_var["stuck_releases_namespaces"]["default"] == "" and not by_var["stuck_releases_namespaces"]["required"]
    assert boolean(by_var["stuck_releases_fail_on_stuck"]["default"]) is False  # warnings unless asked
    if template == REMEDIATE:
        assert boolean(by_var["stuck_releases_remediate"]["default"]) is True


def test_survey_answers_as_awx_sends_them():
    extra = awx_config.survey_extra_vars(REMEDIATE, {"stuck_releases_namespaces": "shop, team-*",
                                                     "stuck_releases_remediate": "no"})
    assert extra["stuck_releases_namespaces"] == "shop, team-*" and extra["stuck_releases_remediate"] == "no"
    with pytest.raises(ValueError):
        awx_config.survey_extra_vars(REMEDIATE, {"stuck_releases_strategy": "delete-everything"})
    with pytest.raises(ValueError):
        awx_config.survey_extra_vars(REPORT, {"stuck_releases_remediate": "yes"})


def occurrences(rrule_text, n=4):
    """An AWX schedule rrule ("DTSTART;TZID=...:... RRULE:...") as datetimes."""
    dtstart, rule = rrule_text.split(" ")
    assert dtstart.startswith("DTSTART") and rule.startswith("RRULE:"), rrule_text
    rule = rrulestr(dtstart + "\n" + rule)
    return list(rule[:n])


def gaps(rrule_text):
    times = occurrences(rrule_text)
    return {b - a for a, b in zip(times, times[1:])}


def test_schedules_report_every_15_minutes_and_remediate_hourly(cfg):
    schedules = {s["template"]: s for s in cfg["helmops_awx_schedules"]}
    assert set(schedules) == {REPORT, REMEDIATE}
    assert gaps(schedules[REPORT]["rrule"]) == {timedelta(minutes=15)}
    assert gaps(schedules[REMEDIATE]["rrule"]) == {timedelta(hours=1)}
    assert all(s["enabled"] is True for s in schedules.values())
    assert re.fullmatch(r"DTSTART;TZID=UTC:\d{8}T\d{6} RRULE:FREQ=MINUTELY;INTERVAL=15", schedules[REPORT]["rrule"])


def test_schedules_follow_their_variables():
    cfg = awx_config.config({"helmops_awx_report_every_minutes": 5, "helmops_awx_remediate_every_hours": 6,
                             "helmops_awx_schedule_start": "20270301T063000Z",
                             "helmops_awx_remediate_schedule_enabled": False})
    schedules = {s["template"]: s for s in cfg["helmops_awx_schedules"]}
    assert gaps(schedules[REPORT]["rrule"]) == {timedelta(minutes=5)}
    assert gaps(schedules[REMEDIATE]["rrule"]) == {timedelta(hours=6)}
    first = occurrences(schedules[REMEDIATE]["rrule"])[0]
    assert (first.year, first.month, first.day, first.hour, first.minute) == (2027, 3, 1, 6, 30)
    assert schedules[REMEDIATE]["enabled"] is False and schedules[REPORT]["enabled"] is True


def test_kubeconfig_credential_type_injects_what_the_module_plugin_and_helm_read(cfg):
    ctype = cfg["helmops_awx_kubeconfig_credential_type"]
    fields = {f["id"] for f in ctype["inputs"]["fields"]}
    assert fields == {"kubeconfig"} and ctype["inputs"]["required"] == ["kubeconfig"]
    assert [f for f in ctype["inputs"]["fields"] if f["id"] == "kubeconfig"][0]["secret"] is True
    inj = ctype["injectors"]
    assert set(inj) == {"file", "env", "extra_vars"}
    # the file is the kubeconfig input; everything else points at that file
    assert inj["file"] == {"template.kubeconfig": "{{ kubeconfig }}"}
    file_ref = "{{ tower.filename.kubeconfig }}"
    k8s_auth = {k for k in inj["env"] if k.startswith("K8S_AUTH_")}
    assert k8s_auth == {"K8S_AUTH_KUBECONFIG"} and k8s_auth <= k8s_core_env_names()
    assert set(inj["env"]) == {"K8S_AUTH_KUBECONFIG", "KUBECONFIG"}  # KUBECONFIG: inventory plugin and helm
    assert all(v == file_ref for v in inj["env"].values())
    assert inj["extra_vars"] == {"stuck_releases_kubeconfig": file_ref}
    assert set(inj["extra_vars"]) <= set(ROLE_SPEC) and ROLE_SPEC["stuck_releases_kubeconfig"]["type"] == "path"
    assert ctype["kind"] == "cloud"  # attachable to the inventory source as well as to job templates


def test_bearer_token_credential_env_is_read_by_kubernetes_core(monkeypatch, tmp_path):
    assert AWX_BEARER_TOKEN_ENV <= k8s_core_env_names()
    for name in k8s_core_env_names():
        monkeypatch.delenv(name, raising=False)
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    monkeypatch.setenv("K8S_AUTH_HOST", "https://api.example:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "t0ken")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "False")
    monkeypatch.setenv("K8S_AUTH_SSL_CA_CERT", str(ca))
    auth = k8s_client._create_auth_spec(None)
    assert {k: auth[k] for k in ("host", "api_key", "verify_ssl", "ssl_ca_cert")} == {
        "host": "https://api.example:6443", "api_key": "t0ken", "verify_ssl": False, "ssl_ca_cert": str(ca)}
    # and our one connection (the scan and helm alike) reads them the same way
    conn = connection.resolve({})
    assert conn.server == "https://api.example:6443" and conn.user == {"token": "t0ken"}
    assert conn.cluster["insecure-skip-tls-verify"] is True


def awx_module_options(module):
    path = next(Path(p) for p in __import__("sys").path
                if (Path(p) / "ansible_collections/awx/awx/plugins/modules").is_dir()) / \
        "ansible_collections/awx/awx/plugins/modules" / ("%s.py" % module)
    src = path.read_text()
    doc = yaml.safe_load(re.search(r"DOCUMENTATION = r?'''(.*?)'''", src, re.S).group(1))
    names = set(doc["options"])
    for opt in doc["options"].values():
        names.update(opt.get("aliases", []))
    return names | {"controller_host", "controller_username", "controller_password", "controller_oauthtoken",
                    "validate_certs", "controller_config_file", "request_timeout"}


def test_configure_playbook_tasks_use_real_awx_awx_options(cfg):
    play = yaml.load((ROOT / "awx" / "configure.yml").read_text(), Loader=awx_config._Loader)[0]
    assert play["vars_files"] == ["settings/config.yml"]
    used = set()
    for task in play["tasks"]:
        [module] = [k for k in task if k.startswith(("awx.awx.", "ansible.builtin."))]
        used.add(module)
        if module.startswith("awx.awx."):
            options = awx_module_options(module.split(".")[-1])
            assert set(task[module]) <= options, (task["name"], set(task[module]) - options)
    for needed in ("credential_type", "credential", "execution_environment", "project", "inventory",
                   "inventory_source", "job_template", "schedule"):
        assert "awx.awx." + needed in used, needed
    [source] = [t for t in play["tasks"] if "awx.awx.inventory_source" in t]
    assert source["awx.awx.inventory_source"]["source"] == "scm"
    path = ROOT / cfg["helmops_awx_kubeconfig_inventory_source_path"]
    assert path.name.endswith("kubeconfig.yml")  # the plugin's verify_file accepts it
    assert yaml.safe_load(path.read_text())["plugin"] == "helmops.unstick.kubeconfig"
    # schedules and credentials name what the playbook creates
    assert {s["template"] for s in cfg["helmops_awx_schedules"]} == {jt["name"] for jt in cfg["helmops_awx_job_templates"]}
