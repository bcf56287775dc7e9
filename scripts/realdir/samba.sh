#!/usr/bin/env bash
# Samba AD DC test directory: domain DC=corp,DC=example,DC=com (CORP.EXAMPLE.COM, NetBIOS CORP) with
# the Exchange 2003 / OCS schema extension and configuration objects of tests/realdir/samba/.
#
#   samba.sh provision CACHE_DIR      provision once into CACHE_DIR/samba-<checksum> (checksum of the
#                                     schema/config files, this script and the samba version), apply
#                                     01..03 (schema) and 04 (config), warm-start once (TLS keys);
#                                     prints the provision's path. Re-running is a no-op.
#   samba.sh start WORK_DIR           take the lock, copy the cached provision into WORK_DIR (cp -a),
#                                     refuse if 389/636/3268/3269 is busy on 127.0.0.1 or ::1,
#                                     start samba and wait (<= 30 s) until it answers LDAP.
#   samba.sh stop WORK_DIR            stop samba by WORK_DIR/run/samba.pid, wait, release the lock.
#   samba.sh with-samba WORK_DIR -- CMD...
#                                     start; run CMD with LDAP_URI, BIND_DN, BIND_PW, BASE_DN (and
#                                     SAMBA_WORK_DIR) set; always stop; exit with CMD's status.
#   samba.sh env                      print the LDAP_URI/BIND_DN/BIND_PW/BASE_DN assignments.
#
# Environment: SAMBA_CACHE_DIR (cache for start/with-samba; default ${TMPDIR:-/tmp}/ldifstamp-samba-cache),
# SAMBA_LOCK_FILE (default /tmp/ldifstamp-samba.lock), SAMBA_LOCK_WAIT (seconds to wait for the lock,
# default 900), SAMBA_START_TIMEOUT (default 30).
#
# Samba binds fixed ports, so only one instance may run per machine: the lock (flock) is held from
# start to stop by a small watcher process that exits when samba exits. Nothing is ever killed
# except the samba started here (by its pid file) and that watcher. Exit 77 when samba, samba-tool,
# ldbmodify, ldapmodify, ldapsearch or flock is missing; nothing is installed by this script.
# Only 127.0.0.1 / ::1 are used.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SCHEMA_DIR="$REPO/tests/realdir/samba"
SCHEMA_FILES=(01-attributes.ldif 02-class.ldif 03-attach.ldif 04-config.ldif)
ADMIN_PW="${SAMBA_ADMIN_PW:-LdifStamp.Test1}"
BASE_DN="DC=corp,DC=example,DC=com"
BIND_DN="Administrator@corp.example.com"
LDAP_URI="ldap://127.0.0.1"
LOCK_FILE="${SAMBA_LOCK_FILE:-/tmp/ldifstamp-samba.lock}"
LOCK_WAIT="${SAMBA_LOCK_WAIT:-900}"
START_TIMEOUT="${SAMBA_START_TIMEOUT:-30}"
DEFAULT_CACHE="${SAMBA_CACHE_DIR:-${TMPDIR:-/tmp}/ldifstamp-samba-cache}"
PORTS=(389 636 3268 3269)
PATH="$PATH:/usr/sbin:/sbin"

log() { echo "samba.sh: $*" >&2; }
die() { log "$*"; exit 1; }

need_tools() {
    local missing=() t
    for t in samba samba-tool ldbmodify ldapmodify ldapsearch flock sha256sum; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "SKIP/FAIL: missing ${missing[*]}. Install the Debian packages samba ldb-tools python3-samba" \
            "ldap-utils (apt-get install samba ldb-tools python3-samba ldap-utils). This script never installs anything."
        exit 77
    fi
}

abspath() { mkdir -p "$1" && (cd "$1" && pwd); }

# True while process $1 exists and is not a zombie (an orphan's zombie may linger until PID 1
# reaps it; it no longer holds ports, files or locks).
alive() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}

# True if something accepts connections on HOST:PORT.
listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

busy_ports() {
    local p h out=()
    for p in "${PORTS[@]}"; do
        for h in 127.0.0.1 ::1; do
            listening "$h" "$p" && out+=("$h:$p")
        done
    done
    echo "${out[*]:-}"
}

answers() { ldapsearch -x -H "$LDAP_URI" -s base -b "" namingContexts >/dev/null 2>&1; }

# Replace every occurrence of $2 by $3 in file $1 (no regex, no sed escaping issues).
replace_in_file() {
    local f=$1 from=$2 to=$3 s
    s=$(<"$f")
    printf '%s\n' "${s//"$from"/"$to"}" > "$f"
}

checksum() {
    {
        for f in "${SCHEMA_FILES[@]}"; do sha256sum < "$SCHEMA_DIR/$f"; done
        sha256sum < "${BASH_SOURCE[0]}"
        samba --version
    } | sha256sum | cut -c1-16
}

# Start samba on provision dir $1 (lock must be held by the caller) and wait until it answers.
daemon_start() {
    local T=$1 busy i pid
    busy=$(busy_ports)
    if [ -n "$busy" ]; then
        die "refusing to start: already listening on $busy (another Samba or LDAP server?)." \
            "Nothing was stopped; stop that process yourself."
    fi
    mkdir -p "$T/run"
    rm -f "$T/run/samba.pid"
    # 9>&- : samba must not inherit the lock descriptor. </dev/null : with -i, samba terminates
    # when a pipe or socket on its stdin closes.
    samba -s "$T/etc/smb.conf" -i --no-process-group </dev/null >"$T/samba.log" 2>&1 9>&- &
    local launcher=$!
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        if [ -s "$T/run/samba.pid" ] && answers; then
            return 0
        fi
        if ! alive "$launcher"; then
            tail -20 "$T/samba.log" >&2
            die "samba exited during start (log: $T/samba.log)"
        fi
        sleep 0.1
    done
    tail -20 "$T/samba.log" >&2
    daemon_stop "$T" || true
    die "samba did not answer on $LDAP_URI within ${START_TIMEOUT}s (log: $T/samba.log)"
}

daemon_stop() {
    local T=$1 pid i
    if [ ! -s "$T/run/samba.pid" ]; then
        log "stop: no $T/run/samba.pid (not running)"
        return 0
    fi
    pid=$(cat "$T/run/samba.pid")
    if alive "$pid"; then
        kill "$pid"
        for ((i = 0; i < 300; i++)); do
            alive "$pid" || break
            sleep 0.05
        done
        if alive "$pid"; then
            log "stop: samba $pid still running after 15 s; sending SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    # The prefork workers leave with the master; wait until the ports are free again.
    for ((i = 0; i < 100; i++)); do
        listening 127.0.0.1 389 || break
        sleep 0.1
    done
    rm -f "$T/run/samba.pid"
}

take_lock() {
    exec 9>>"$LOCK_FILE"
    if ! flock -n 9; then
        log "waiting for $LOCK_FILE (another Samba test run holds it; up to ${LOCK_WAIT}s)"
        flock -w "$LOCK_WAIT" 9 || die "could not take $LOCK_FILE within ${LOCK_WAIT}s"
    fi
}

cmd_provision() {
    local C key final build
    C=$(abspath "$1")
    key=$(checksum)
    final="$C/samba-$key"
    if [ -f "$final/.complete" ]; then
        echo "$final"
        return 0
    fi
    for f in "${SCHEMA_FILES[@]}"; do [ -f "$SCHEMA_DIR/$f" ] || die "missing $SCHEMA_DIR/$f"; done
    # Provisioning ends with a warm start, so it needs the Samba lock as well.
    take_lock
    if [ -f "$final/.complete" ]; then echo "$final"; return 0; fi
    # Under the lock no other provision runs: leftovers of interrupted builds and provisions made
    # for other schema files or samba versions (33 MB each) can go.
    local old
    for old in "$C"/.build.* "$C"/samba-*; do
        if [ -e "$old" ] && [ "$old" != "$final" ]; then rm -rf "$old"; fi
    done
    build=$(mktemp -d "$C/.build.XXXXXX")
    local t0=$SECONDS
    log "provisioning into $build"
    if ! samba-tool domain provision --targetdir="$build" --realm=CORP.EXAMPLE.COM --domain=CORP \
        --server-role=dc --dns-backend=NONE --adminpass="$ADMIN_PW" --host-name=dc1 \
        --option="interfaces=lo" --option="bind interfaces only=yes" \
        --option="server services=ldap" --option="pid directory=$build/run" \
        >"$build/provision.log" 2>&1; then
        tail -20 "$build/provision.log" >&2
        die "samba-tool domain provision failed (log: $build/provision.log)"
    fi
    # Simple binds need this (the provision option does not persist); keep logs in the tree and
    # run no panic action.
    replace_in_file "$build/etc/smb.conf" "[global]" "[global]
	ldap server require strong auth = no
	log file = $build/log.%m
	panic action = "
    local f
    for f in 01-attributes.ldif 02-class.ldif 03-attach.ldif 04-config.ldif; do
        if ! ldbmodify -H "$build/private/sam.ldb" --configfile="$build/etc/smb.conf" \
            --option="dsdb:schema update allowed=true" "$SCHEMA_DIR/$f" >>"$build/schema.log" 2>&1; then
            cat "$build/schema.log" >&2
            die "ldbmodify $f failed"
        fi
    done
    # Warm start: samba generates its self-signed TLS keys on first start (about 3 s); do it once
    # here so that every copy starts fast. Also proves the provision serves LDAP.
    daemon_start "$build"
    local n
    n=$(ldapsearch -x -H "$LDAP_URI" -D "$BIND_DN" -w "$ADMIN_PW" -b "CN=Schema,CN=Configuration,$BASE_DN" \
        -s one "(lDAPDisplayName=mailNickname)" dn 2>/dev/null | grep -c '^dn:' || true)
    daemon_stop "$build"
    [ "$n" = 1 ] || die "schema extension not visible over LDAP after provision"
    rm -rf "$build/run" "$build"/log.* "$build/samba.log" "$build/msg.lock" "$build/msg.sock"
    mv "$build" "$final"
    replace_in_file "$final/etc/smb.conf" "$build" "$final"
    date -u +%FT%TZ > "$final/.complete"
    log "provisioned $final in $((SECONDS - t0)) s"
    echo "$final"
}

cmd_start() {
    local W src
    W=$(abspath "$1")
    if [ -n "$(ls -A "$W" 2>/dev/null)" ]; then
        die "start: $W is not empty; give a new or empty directory"
    fi
    src=$(cmd_provision "$DEFAULT_CACHE")
    take_lock
    cp -a "$src/." "$W/"
    rm -f "$W/.complete"
    replace_in_file "$W/etc/smb.conf" "$src" "$W"
    grep -q "$src" "$W/etc/smb.conf" && die "start: $W/etc/smb.conf still names the cache"
    daemon_start "$W"
    # Hand the lock to a watcher that lives as long as samba: the lock is released when samba
    # exits, whatever way it exits.
    local pid
    pid=$(cat "$W/run/samba.pid")
    (
        trap '' INT
        while alive "$pid"; do sleep 0.2; done
    ) </dev/null >/dev/null 2>&1 &
    echo $! > "$W/run/lock-holder.pid"
    exec 9>&-
    log "samba running in $W (pid $pid) on $LDAP_URI"
}

cmd_stop() {
    local W holder i
    W=$(abspath "$1")
    daemon_stop "$W"
    if [ -s "$W/run/lock-holder.pid" ]; then
        # The watcher leaves by itself within 0.2 s of samba; ending it now releases the lock sooner.
        holder=$(cat "$W/run/lock-holder.pid")
        alive "$holder" && kill "$holder" 2>/dev/null || true
        rm -f "$W/run/lock-holder.pid"
    fi
}

print_env() {
    printf 'LDAP_URI=%s\nBIND_DN=%s\nBIND_PW=%s\nBASE_DN=%s\n' "$LDAP_URI" "$BIND_DN" "$ADMIN_PW" "$BASE_DN"
}

cmd_with() {
    local W=$1; shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "with-samba: no command given"
    W=$(abspath "$W")
    if [ -n "$(ls -A "$W" 2>/dev/null)" ]; then
        die "with-samba: $W is not empty; give a new or empty directory"
    fi
    # From here on every samba pid file under $W is ours: stop it whatever happens.
    WITH_DIR=$W
    trap 'cmd_stop "$WITH_DIR"' EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    cmd_start "$W"
    local rc=0
    LDAP_URI="$LDAP_URI" BIND_DN="$BIND_DN" BIND_PW="$ADMIN_PW" BASE_DN="$BASE_DN" SAMBA_WORK_DIR="$W" \
        "$@" <&0 &
    CMD_PID=$!
    # CMD runs in the background so that a TERM/INT sent to this script stops samba at once
    # (bash runs traps only between foreground commands); it is passed on to CMD.
    trap 'kill -TERM "$CMD_PID" 2>/dev/null; exit 143' TERM
    trap 'kill -INT "$CMD_PID" 2>/dev/null; exit 130' INT
    wait "$CMD_PID" || rc=$?
    return $rc
}

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
sub=$1; shift
case "$sub" in
    env) print_env; exit 0 ;;
esac
need_tools
case "$sub" in
    provision) [ $# -eq 1 ] || usage; cmd_provision "$1" ;;
    start) [ $# -eq 1 ] || usage; cmd_start "$1" ;;
    stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
    with-samba) [ $# -ge 2 ] || usage; cmd_with "$@" ;;
    *) usage ;;
esac
