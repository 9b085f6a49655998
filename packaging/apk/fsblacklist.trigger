#!/bin/sh
# fsblacklist.trigger: apk trigger of the package that ships fsblacklist. In the
# APKBUILD:
#     triggers="$pkgname.trigger=/usr/share/fsblacklist/blacklist.d"
# apk runs it (chrooted into --root) after a transaction that changed files in
# that directory, i.e. when the policy is installed or upgraded, with the changed
# directories as arguments (unused: apply looks at the whole policy).
# A failing apply leaves each file old or new and the previous blacklist in force:
# warn, never fail.
if command -v fsblacklist >/dev/null 2>&1; then
    fsblacklist apply || echo "warning: 'fsblacklist apply' failed (exit $?); the previous module blacklist stays in force. Fix the problem above and run 'fsblacklist apply'." >&2
else
    echo "warning: fsblacklist is not on PATH; run 'fsblacklist apply' once it is." >&2
fi
exit 0
