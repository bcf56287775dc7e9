#!/usr/bin/env bash
# Positive end-to-end check of both real directories (what tests/realdir/README.md calls "smoke"):
#
#   scripts/realdir/smoke.sh [samba|slapd|all]     (default all)
#
# samba: with-samba; add tests/realdir/test-user.ldif; apply test-user-stamp.ldif; read the user back
#        with ldapsearch and compare every stamped attribute with the expected value.
# slapd: generate the schema, load base.ldif + tests/realdir/slapd/smoke-entries.ldif (a user and a
#        contact without sn) with slapadd, start on a free port from 3890, apply test-user-stamp.ldif
#        and slapd/smoke-contact-stamp.ldif, read back, stop.
# Exit 0 if everything matched, 1 otherwise, 77 if tools are missing. Prints timings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RD="$REPO/tests/realdir"
USER_DN="CN=Test User,OU=Staff,DC=corp,DC=example,DC=com"
CONTACT_DN="CN=Partner Contact,OU=Partners,DC=corp,DC=example,DC=com"
USER_DN_ATTRS="homeMDB homeMTA showInAddressBook msRTCSIP-PrimaryHomeServer"

# Expected values after test-user-stamp.ldif, one "attr: value" (or "attr:: base64") per line.
EXPECTED_USER=$(cat <<'EOF'
mailNickname: testuser
msExchMailboxGuid:: PC0eD1pLeGmHlqW0w9Lh8A==
msExchMasterAccountSid:: AQEAAAAAAAUKAAAA
proxyAddresses: SMTP:test.user@corp.example.com
mail: test.user@corp.example.com
mDBUseDefaults: TRUE
msExchRecipientDisplayType: 1073741824
msRTCSIP-PrimaryUserAddress: sip:test.user@corp.example.com
msRTCSIP-UserEnabled: TRUE
EOF
)

check_values() {  # $1 = label, $2 = DN, $3 = DN-valued attributes that must be present; stdin: expected
    local label=$1 dn=$2 dnattrs=$3 got line a ok=0
    got=$(ldapsearch -x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW" -LLL -o ldif-wrap=no -b "$dn" -s base '*')
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        if grep -qixF -- "$line" <<<"$got"; then :; else
            echo "FAIL $label: missing '$line' in:"; echo "$got" | sed 's/^/    /'; ok=1
        fi
    done
    # DN values come back re-cased by slapd (cn=..., dc=...): only their presence is checked.
    for a in $dnattrs; do
        grep -qi "^$a: " <<<"$got" || { echo "FAIL $label: no $a"; ok=1; }
    done
    [ $ok -eq 0 ] && echo "ok   $label: stamped values read back"
    return $ok
}

inside_samba() {
    ldapmodify -x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW" -a -f "$RD/test-user.ldif" >/dev/null
    ldapmodify -x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW" -f "$RD/test-user-stamp.ldif" >/dev/null
    check_values samba-user "$USER_DN" "$USER_DN_ATTRS" <<<"$EXPECTED_USER"
}

inside_slapd() {
    ldapmodify -x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW" -f "$RD/test-user-stamp.ldif" >/dev/null
    ldapmodify -x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW" -f "$RD/slapd/smoke-contact-stamp.ldif" >/dev/null
    check_values slapd-user "$USER_DN" "$USER_DN_ATTRS" <<<"$EXPECTED_USER"
    check_values contact "$CONTACT_DN" showInAddressBook <<'EOF'
mailNickname: partner
targetAddress: SMTP:partner@example.net
msExchHideFromAddressLists: TRUE
EOF
    # The contact has no sn: proves core-ad.schema's person without MUST sn.
    if ldapsearch -x -H "$LDAP_URI" -D "$BIND_DN" -w "$BIND_PW" -LLL -b "$CONTACT_DN" -s base sn | grep -qi '^sn:'; then
        echo "FAIL contact has sn (fixture changed?)"; return 1
    fi
}

case "${1:-all}" in
    --inside-samba) inside_samba; exit ;;
    --inside-slapd) inside_slapd; exit ;;
    samba|slapd|all) what=${1:-all} ;;
    *) echo "usage: $0 [samba|slapd|all]" >&2; exit 2 ;;
esac

rc=0
if [ "$what" != slapd ]; then
    W=$(mktemp -d "${TMPDIR:-/tmp}/ldifstamp-smoke-samba.XXXXXX")
    t0=$(date +%s.%N)
    "$HERE/samba.sh" with-samba "$W" -- "${BASH_SOURCE[0]}" --inside-samba || rc=$?
    echo "samba smoke: $(python3 -c "import sys;print('%.1f s' % (float(sys.argv[2])-float(sys.argv[1])))" "$t0" "$(date +%s.%N)") (rc=$rc)"
    rm -rf "$W"
    [ $rc -eq 77 ] && exit 77
fi
if [ "$what" != samba ]; then
    W=$(mktemp -d "${TMPDIR:-/tmp}/ldifstamp-smoke-slapd.XXXXXX")
    t0=$(date +%s.%N)
    src=0
    "$HERE/slapd.sh" load "$W" "$RD/slapd/base.ldif" "$RD/slapd/smoke-entries.ldif" || src=$?
    if [ $src -eq 0 ]; then
        "$HERE/slapd.sh" with-slapd "$W" auto -- "${BASH_SOURCE[0]}" --inside-slapd || src=$?
    fi
    echo "slapd smoke: $(python3 -c "import sys;print('%.1f s' % (float(sys.argv[2])-float(sys.argv[1])))" "$t0" "$(date +%s.%N)") (rc=$src)"
    rm -rf "$W"
    [ $src -eq 77 ] && exit 77
    [ $src -ne 0 ] && rc=$src
fi
exit $rc
