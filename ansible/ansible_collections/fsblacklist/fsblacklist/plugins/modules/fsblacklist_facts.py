#!/usr/bin/python
# GNU General Public License v2.0 or later (see https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fsblacklist_facts
short_description: Gather what fsblacklist knows about a host's filesystem module blacklist
description:
  - Runs C(fsblacklist status --json) and C(fsblacklist audit --json) on the target and returns them as
    the fact C(fsblacklist), with every filesystem of the policy, its state, the file and line that decide
    it and what uses it, the summary counts, and the CIS audit's verdict per rule.
  - It only reads, in check mode or not.
version_added: "0.1.0"
author: fsblacklist developers
options:
  profile:
    description: The policy profile to judge against (C(--profile)) instead of the configured one.
    type: str
  benchmark:
    description:
      - The CIS benchmark to audit against (C(audit --benchmark)), C(cis-l1) or C(cis-l2).
      - Without it the audit follows the profile; when the profile serves no benchmark (C(default)) the
        fact's C(audit) is null and C(audit_skipped) says why.
    type: str
    choices: [cis-l1, cis-l2]
  root:
    description: The system to look at (C(--root)).
    type: path
    default: /
  executable:
    description: The fsblacklist command, a name on the target's PATH or a path.
    type: str
    default: fsblacklist
seealso:
  - module: fsblacklist.fsblacklist.fsblacklist
"""

EXAMPLES = r"""
- name: Gather fsblacklist facts
  fsblacklist.fsblacklist.fsblacklist_facts:
    benchmark: cis-l1

- name: Fail a host whose blacklist leaves a CIS rule failing
  ansible.builtin.assert:
    that: ansible_facts.fsblacklist.audit.failed == 0
"""

RETURN = r"""
ansible_facts:
  description: The facts gathered.
  returned: always
  type: dict
  contains:
    fsblacklist:
      description: What fsblacklist reports.
      type: dict
      contains:
        summary:
          description: status's summary counts (total, each state, inUse, staleImages).
          type: dict
          sample: {total: 26, blocked: 19, pinned: 1, kept: 2, allowed: 0, builtin: 0, unavailable: 4, inUse: 2, staleImages: 0}
        status:
          description: The document of C(fsblacklist status --json).
          type: dict
        audit:
          description:
            - The document of C(fsblacklist audit --json) with C(failed), the number of failing rules, added;
              null when no benchmark applies.
          type: dict
        audit_skipped:
          description: Why there is no audit, or null.
          type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fsblacklist.fsblacklist.plugins.module_utils.fsblacklist_cli import (
    checked,
    executable_path,
    run_json,
    run_raw,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str"),
            benchmark=dict(type="str", choices=["cis-l1", "cis-l2"]),
            root=dict(type="path", default="/"),
            executable=dict(type="str", default="fsblacklist"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    executable = executable_path(module, p["executable"])
    common = ["--root", p["root"]] + (["--profile", p["profile"]] if p["profile"] else [])
    status = run_json(module, executable, ["status"] + common)

    audit, skipped = None, None
    args = ["audit"] + (["--benchmark", p["benchmark"]] if p["benchmark"] else []) + common
    rc, document, err = run_raw(module, executable, args)
    error = (document or {}).get("error")
    if not p["benchmark"] and rc == 2 and isinstance(error, dict):
        # The profile serves no benchmark (default): nothing to audit, which is no failure of the host.
        skipped = error.get("message")
    else:
        audit = checked(module, args, rc, document, err, verdict_codes=(0, 1))
    if audit is not None:
        audit["failed"] = sum(1 for rule in audit.get("rules", []) if rule.get("result") == "fail")

    facts = dict(summary=status.get("summary"), status=status, audit=audit, audit_skipped=skipped)
    module.exit_json(changed=False, ansible_facts=dict(fsblacklist=facts))


if __name__ == "__main__":
    main()
