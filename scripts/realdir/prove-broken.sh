#!/usr/bin/env bash
# Prove that the Samba harness can fail: every LDIF under tests/realdir/broken/ (or the files given)
# must be REJECTED by a real Samba AD DC, while a well-formed stamp of the same user is ACCEPTED.
#
#   scripts/realdir/prove-broken.sh [BROKEN.ldif...]
#
# Runs inside `samba.sh with-samba` (so it takes the Samba lock and always stops Samba):
#   1. adds the fixture user tests/realdir/test-user.ldif;
#   2. applies tests/realdir/test-user-stamp.ldif: must succeed (positive control);
#   3. applies each broken file with ldapmodify: must exit non-zero; the server's error text is
#      printed; the user's entry must be unchanged afterwards (the modify was atomic).
# Exit 0 only if every broken file was rejected and both controls passed; 1 otherwise;
# 77 if the Samba/OpenLDAP tools are missing. KEEP_WORK=1 keeps the Samba work dir.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RD="$REPO/tests/realdir"
USER_DN="CN=Test User,OU=Staff,DC=corp,DC=example,DC=com"

if [ "${1:-}" != "--inside" ]; then
    files=("$@")
    if [ ${#files[@]} -eq 0 ]; then
        files=("$RD"/broken/*.ldif)
    fi
    for f in "${files[@]}"; do [ -f "$f" ] || { echo "prove-broken.sh: no file $f" >&2; exit 1; }; done
    W=$(mktemp -d "${TMPDIR:-/tmp}/ldifstamp-prove-broken.XXXXXX")
    rc=0
    "$HERE/samba.sh" with-samba "$W" -- "${BASH_SOURCE[0]}" --inside "${files[@]}" || rc=$?
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "prove-broken.sh: work dir kept: $W" >&2
    else
        rm -rf "$W"
    fi
    exit $rc
fi
shift

: "${LDAP_URI:?run through samba.sh with-samba}" "${BIND_DN:?}" "${BIND_PW:?}"
auth=(-x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW")

snapshot() {
    ldapsearch "${auth[@]}" -LLL -o ldif-wrap=no -b "$USER_DN" -s base '*' \
        | grep -viE '^(whenChanged|uSNChanged|dSCorePropagationData|replPropertyMetaData):' | sort
}

fail=0
if ! out=$(ldapmodify "${auth[@]}" -a -f "$RD/test-user.ldif" 2>&1); then
    echo "CONTROL FAILED: could not add the fixture user: $out"
    exit 1
fi
if out=$(ldapmodify "${auth[@]}" -f "$RD/test-user-stamp.ldif" 2>&1); then
    echo "ok       accepted  test-user-stamp.ldif (positive control)"
else
    echo "CONTROL FAILED: the well-formed stamp was rejected:"
    echo "$out" | sed 's/^/    /'
    exit 1
fi
before=$(snapshot)

for f in "$@"; do
    name=${f#"$RD"/}
    set +e
    out=$(ldapmodify "${auth[@]}" -f "$f" 2>&1)
    rc=$?
    set -e
    if [ $rc -eq 0 ]; then
        echo "FAIL     ACCEPTED  $name (Samba took a change it must refuse)"
        fail=1
    else
        info=$(echo "$out" | sed -n 's/^[[:space:]]*additional info: //p' | head -1)
        err=$(echo "$out" | sed -n 's/^ldap_modify: //p' | head -1)
        echo "ok       rejected  $name: rc=$rc ${err:-?}; ${info:-$(echo "$out" | tr '\n' ' ')}"
    fi
    after=$(snapshot)
    if [ "$after" != "$before" ]; then
        echo "FAIL     $name changed the entry although the modify failed:"
        diff <(echo "$before") <(echo "$after") | sed 's/^/    /' || true
        fail=1
        before=$after
    fi
done

if [ $fail -eq 0 ]; then
    echo "prove-broken: all $# broken file(s) rejected by Samba"
else
    echo "prove-broken: FAILED"
fi
exit $fail
