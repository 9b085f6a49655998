#!/usr/bin/python
# GNU General Public License v2.0 or later (see https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fsblacklist
short_description: Apply or remove the fsblacklist filesystem module blacklist
description:
  - Runs the installed C(fsblacklist) command with C(--json) on the target. With C(state=applied) it
    runs C(fsblacklist allow) and C(fsblacklist block) for the filesystems named, then
    C(fsblacklist apply), which installs the policy's modprobe fragments and keeps every filesystem
    the system uses loadable, saying why. With C(state=absent) it runs C(fsblacklist uninstall).
  - In check mode every command runs with C(--dry-run) and nothing is written. In diff mode each file
    the run changes (or would change) is shown, from the unified diffs of the dry run.
  - A failure of the command (a read-only C(modprobe.d), a bad profile name, an administrator's file in
    the way of C(allow)) fails the task with the command's own message and hint, and is not reported as
    changed unless an earlier step of the same task wrote something.
  - In check mode the preview of C(apply) does not yet see the C(allow) and C(block) overrides the same
    task would write first.
version_added: "0.1.0"
author: fsblacklist developers
options:
  state:
    description:
      - C(applied) brings the system in line with the policy (C(fsblacklist apply)); C(absent) removes
        what apply installed (C(fsblacklist uninstall)).
    type: str
    choices: [applied, absent]
    default: applied
  profile:
    description:
      - The policy profile for this run (C(--profile)), instead of the one in the target's configuration,
        for example C(default), C(cis-l1) or C(cis-l2). An unknown name fails the task.
    type: str
  allow:
    description:
      - Filesystems to un-blacklist persistently (C(fsblacklist allow)); apply never blocks them again.
      - Only with C(state=applied). Dropping a name from the list does not block it again; use C(block).
    type: list
    elements: str
    default: []
  block:
    description:
      - Filesystems to blacklist persistently, even when in use and against a later apply
        (C(fsblacklist block)). Only with C(state=applied).
    type: list
    elements: str
    default: []
  purge:
    description:
      - With C(state=absent), also remove the administrator's allow and block overrides and the state file
        (C(fsblacklist uninstall --purge)).
    type: bool
    default: false
  root:
    description:
      - The system to work on (C(--root)); every path is taken under it.
    type: path
    default: /
  executable:
    description:
      - The fsblacklist command, a name looked up on the target's PATH or a path.
    type: str
    default: fsblacklist
notes:
  - Needs fsblacklist installed on the target (the Debian package, or C(npm install -g)).
  - Supports check mode and diff mode.
seealso:
  - module: fsblacklist.fsblacklist.fsblacklist_facts
"""

EXAMPLES = r"""
- name: Apply the shipped blacklist, keeping what the host uses
  fsblacklist.fsblacklist.fsblacklist:
  register: blacklist

- name: CIS level 2, with udf allowed and usb-storage blocked
  fsblacklist.fsblacklist.fsblacklist:
    profile: cis-l2
    allow: [udf]
    block: [usb-storage]

- name: Rebuild the initramfs when its copy of modprobe.d is out of date
  ansible.builtin.command: update-initramfs -u
  when: blacklist.initramfs_rebuild_owed

- name: Remove fsblacklist's fragments and keeps
  fsblacklist.fsblacklist.fsblacklist:
    state: absent
"""

RETURN = r"""
changed:
  description: Whether a file was (or, in check mode, would be) written or removed.
  returned: always
  type: bool
actions:
  description:
    - What was done (or would be done) to each file, in order, from the commands' C(actions) without the
      files left alone. C(command) names the fsblacklist command (allow, block, apply, uninstall).
  returned: always
  type: list
  elements: dict
  sample:
    - {command: apply, action: install, path: usr/lib/modprobe.d/60-blacklist_fs-hfs.conf, module: hfs, reason: "..."}
    - {command: apply, action: keep, path: etc/modprobe.d/60-blacklist_fs-jfs.conf, module: jfs, reason: "jfs loaded (proc/modules)"}
kept:
  description:
    - The filesystems kept loadable because the system uses them, with the reason, since when, the kernel,
      and whether kmod will really load them (C(loadable), C(blockedBy)).
  returned: when state is applied
  type: list
  elements: dict
  sample: [{module: jfs, reason: "jfs loaded (proc/modules)", since: "2026-12-05T07:30:06.859Z", kernel: 6.1.0-50-amd64, loadable: true, blockedBy: []}]
initramfs_rebuild_owed:
  description:
    - Whether the initramfs still holds an older copy of modprobe.d, so that a rebuild
      (C(update-initramfs -u), C(dracut --regenerate-all --force), C(mkinitcpio -P)) is owed.
  returned: always
  type: bool
initramfs:
  description: The last command's C(initramfs) object (stale, tool, command, regenerated, error).
  returned: when the command reports it
  type: dict
profile:
  description: The policy profile apply used.
  returned: when state is applied
  type: str
policy_version:
  description: The version of the policy apply installed.
  returned: when state is applied
  type: str
deviations:
  description: Under a CIS profile, every keep of a benchmark module (a deviation from the benchmark).
  returned: when state is applied
  type: list
install_lines_in_force:
  description: Install lines fsblacklist did not write that stay the ones kmod runs.
  returned: when state is applied
  type: list
notes:
  description: What the commands noted (for example that under the root no kernel is running).
  returned: always
  type: list
  elements: str
documents:
  description: The JSON document of each fsblacklist command run, by command name.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fsblacklist.fsblacklist.plugins.module_utils.fsblacklist_cli import (
    executable_path,
    file_diff,
    rebuild_owed,
    run_json,
)

# Actions that leave a file as it is.
UNCHANGED = ("skip", "unchanged")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="applied", choices=["applied", "absent"]),
            profile=dict(type="str"),
            allow=dict(type="list", elements="str", default=[]),
            block=dict(type="list", elements="str", default=[]),
            purge=dict(type="bool", default=False),
            root=dict(type="path", default="/"),
            executable=dict(type="str", default="fsblacklist"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "absent" and (p["allow"] or p["block"]):
        module.fail_json(msg="allow and block go with state=applied", changed=False)
    both = sorted(set(p["allow"]) & set(p["block"]))
    if both:
        module.fail_json(msg="both allowed and blocked: %s" % ", ".join(both), changed=False)

    executable = executable_path(module, p["executable"])
    common = ["--root", p["root"]] + (["--profile", p["profile"]] if p["profile"] else [])
    if p["state"] == "applied":
        # allow and block first: apply honours an administrator's override and never undoes it.
        steps = [["allow"] + p["allow"]] if p["allow"] else []
        steps += [["block"] + p["block"]] if p["block"] else []
        steps.append(["apply"])
    else:
        steps = [["uninstall"] + (["--purge"] if p["purge"] else [])]

    changed = False
    owed = False
    actions, diffs, notes = [], [], []
    documents = {}
    for step in steps:
        name = step[0]
        if module.check_mode or module._diff:
            preview = run_json(module, executable, step + common + ["--dry-run"], changed_before=changed)
            for action in preview.get("actions", []):
                if action.get("action") not in UNCHANGED:
                    entry = file_diff(p["root"], action)
                    if entry is not None:
                        diffs.append(entry)
        document = preview if module.check_mode else run_json(module, executable, step + common, changed_before=changed)
        documents[name] = dict(document, actions=[dict((k, v) for k, v in a.items() if k != "diff") for a in document.get("actions", [])])
        changed = changed or document.get("changed") is True
        owed = rebuild_owed(document) or (owed and not (document.get("initramfs") or {}).get("regenerated"))
        notes.extend(document.get("notes") or [])
        for action in document.get("actions", []):
            if action.get("action") not in UNCHANGED:
                shown = dict((k, v) for k, v in action.items() if k != "diff")
                shown["command"] = name
                actions.append(shown)

    result = dict(changed=changed, actions=actions, initramfs_rebuild_owed=owed, notes=notes, documents=documents)
    last = documents[steps[-1][0]]
    if "initramfs" in last:
        result["initramfs"] = last["initramfs"]
    if p["state"] == "applied":
        result.update(
            kept=last.get("kept", []),
            profile=last.get("profile"),
            policy_version=last.get("policyVersion"),
            deviations=last.get("deviations", []),
            install_lines_in_force=last.get("installLinesInForce", []),
        )
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
