# Runs the fsblacklist command with --json and reads its one JSON document:
# shared by the fsblacklist and fsblacklist_facts modules.
# GNU General Public License v2.0 or later (see https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os


def executable_path(module, executable):
    """A path is used as given (a wrapper, bin/fsblacklist.js); a bare name is looked up on PATH."""
    if "/" in executable:
        if not os.access(executable, os.X_OK):
            module.fail_json(msg="%s is not an executable file" % executable, changed=False)
        return executable
    return module.get_bin_path(executable, required=True)


def run_raw(module, executable, args):
    """Runs `executable ARGS --json`: the exit code, the JSON document (None when there is none) and stderr."""
    argv = [executable] + list(args) + ["--json"]
    rc, out, err = module.run_command(argv, environ_update={"NO_COLOR": "1", "DPKG_ROOT": ""})
    try:
        document = json.loads(out)
    except ValueError:
        document = None
    return rc, (document if isinstance(document, dict) else None), err


def checked(module, args, rc, document, err, verdict_codes=(0,), changed_before=False):
    """The document of a run that succeeded; otherwise fails the task with the CLI's own error.

    `verdict_codes`: exit codes whose document is a result, not a failure (audit's 1 is its verdict).
    A failure is reported as changed only when an earlier step (`changed_before`) or this run, by its
    document, wrote something.
    """
    command = "fsblacklist " + " ".join(args)
    if document is None:
        module.fail_json(msg="%s printed no JSON document (exit %d): %s" % (command, rc, err.strip()[-2000:]), rc=rc, stderr=err, changed=changed_before)
    error = document.get("error")
    if isinstance(error, dict) or rc not in verdict_codes:
        error = error if isinstance(error, dict) else {}
        module.fail_json(
            msg=error.get("message") or "%s exited %d" % (command, rc),
            hint=error.get("hint"),
            exit_code=error.get("exitCode", rc),
            rc=rc,
            stderr=err,
            document=document,
            changed=changed_before or (document.get("changed") is True and document.get("dryRun") is False),
        )
    return document


def run_json(module, executable, args, verdict_codes=(0,), changed_before=False):
    """run_raw() then checked(): the document of a successful run, or the task fails."""
    rc, document, err = run_raw(module, executable, args)
    return checked(module, args, rc, document, err, verdict_codes, changed_before)


def rebuild_owed(document):
    """Whether the initramfs still holds an older blacklist after this run.

    initramfsStale already means "owed after this run" (false once fsblacklist regenerated the image);
    any initramfsOwed* field a newer CLI adds (kept in the state file until a rebuild is seen) counts too.
    """
    owed = document.get("initramfsStale") is True
    for key, value in document.items():
        if key.startswith("initramfsOwed") and value not in (None, False, 0, "", [], {}):
            owed = True
    return owed


def read_in_root(root, relative):
    """A file's text under the root, or None when absent, unreadable or leading out of the root."""
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, relative))
    if not path.startswith(real_root.rstrip("/") + "/"):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "surrogateescape")
    except (IOError, OSError):
        return None


def patched(before, diff):
    """`before` with a unified diff applied, or None when the diff does not fit it."""
    old = before.splitlines(True)
    new = []
    at = 0
    lines = diff.splitlines(True)
    i = 0
    while i < len(lines) and not lines[i].startswith("@@"):
        i += 1
    while i < len(lines):
        header = lines[i].split()
        start = int(header[1][1:].split(",")[0])
        count = int(header[1].split(",")[1]) if "," in header[1] else 1
        hunk_start = start - 1 if count > 0 else start
        if hunk_start < at:
            return None
        new.extend(old[at:hunk_start])
        at = hunk_start
        i += 1
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            op, text = line[:1], line[1:]
            if i + 1 < len(lines) and lines[i + 1].startswith("\\"):
                text = text[:-1] if text.endswith("\n") else text
                i += 1
            if op in (" ", "-"):
                if at >= len(old) or old[at] != text:
                    return None
                at += 1
            if op in (" ", "+"):
                new.append(text)
            i += 1
    new.extend(old[at:])
    return "".join(new)


def file_diff(root, action):
    """Ansible's diff of one file an action changes: before and after, from the CLI's unified diff."""
    path = action.get("path")
    diff = action.get("diff")
    if not path:
        return None
    entry = {"before_header": path, "after_header": path}
    if diff is None:
        # An older CLI's uninstall dry run carried no diff: a removal's after is nothing.
        if action.get("action") != "remove":
            return None
        before = read_in_root(root, path)
        if before is None:
            return None
        entry.update(before=before, after="")
        return entry
    created = diff.startswith("--- /dev/null")
    before = "" if created else read_in_root(root, path)
    after = None if before is None else patched(before, diff)
    if after is None:
        # The file changed since the dry run, or cannot be read: show the CLI's diff as it is.
        entry["prepared"] = diff
    else:
        entry.update(before=before, after=after)
    return entry
