# SPDX-License-Identifier: GPL-3.0-or-later
"""Read awx/settings/config.yml (the config as code of awx/configure.yml) the way the playbook
sees it, without AWX: `!unsafe` values stay as they are (AWX templates them, not
Ansible), "{{ var }}" references are resolved, other templates rendered with Jinja.
Also what AWX does with a job template's survey answers (tests only)."""

import re
from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[2]
VARS_FILE = ROOT / "awx" / "settings" / "config.yml"
_REF = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")


class Unsafe(str):
    """A value tagged !unsafe: never templated by Ansible."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))


def load_vars(overrides=None):
    data = yaml.load(VARS_FILE.read_text(), Loader=_Loader)
    data.update(overrides or {})
    return data


def render(value, variables, depth=0):
    assert depth < 20, "template loop in %r" % (value,)
    if isinstance(value, Unsafe):
        return value
    if isinstance(value, dict):
        return {render(k, variables, depth): render(v, variables, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables, depth) for v in value]
    if isinstance(value, str) and "{{" in value:
        ref = _REF.match(value)
        if ref:
            return render(variables[ref.group(1)], variables, depth + 1)
        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        rendered = env.from_string(value).render(**{k: v for k, v in variables.items()})
        return render(rendered, variables, depth + 1)
    return value


def config(overrides=None):
    """Every helmops_awx_* variable, rendered."""
    variables = load_vars(overrides)
    return {k: render(v, variables) for k, v in variables.items()}


def job_template(name, overrides=None):
    cfg = config(overrides)
    [jt] = [jt for jt in cfg["helmops_awx_job_templates"] if jt["name"] == name]
    return jt


def survey_extra_vars(template_name, answers=None, overrides=None):
    """What AWX passes as extra variables for a launch of this job template with these
    survey answers: every question's answer (as AWX sends them: text and multiple-choice
    answers are strings) or else its default; answers are validated like AWX does."""
    answers = dict(answers or {})
    jt = job_template(template_name, overrides)
    extra = {}
    for q in jt["survey"]:
        var = q["variable"]
        value = answers.pop(var, q.get("default"))
        if value in (None, "") and q.get("required"):
            raise ValueError("%s is required" % var)
        if q["type"] == "multiplechoice" and value not in q["choices"]:
            raise ValueError("%s: %r is not one of %r" % (var, value, q["choices"]))
        if q["type"] in ("text", "textarea") and not (q.get("min", 0) <= len(value) <= q.get("max", 1024)):
            raise ValueError("%s: length of %r not within %s..%s" % (var, value, q.get("min"), q.get("max")))
        extra[var] = value
    if answers:
        raise ValueError("not survey questions of %s: %s" % (template_name, sorted(answers)))
    return extra


def job_extra_vars(template_name, answers=None, mode="kubeconfig", overrides=None):
    """The extra variables of a launch: the job template's own extra_vars (as awx/configure.yml
    sets them for this mode), then the survey answers on top, as AWX merges them."""
    cfg = config(dict(overrides or {}, helmops_awx_mode=mode))
    extra = dict(cfg["helmops_awx_job_extra_vars"])
    extra.update(survey_extra_vars(template_name, answers, overrides))
    return {k: str(v) if isinstance(v, Unsafe) else v for k, v in extra.items()}
