#!/bin/bash
# Starts PostgreSQL as whatever UID the platform gives (restricted-v2: from the project's range, group 0).
#   POSTGRES_USER[_FILE]      the superuser Orthanc logs in as (default postgres)
#   POSTGRES_PASSWORD[_FILE]  its password, required; set again at every start (the Secret is the truth)
#   POSTGRES_DB               the database made on first start (default: the user's name)
#   PGDATA                    the data folder, made by initdb on first start (a subfolder of the claim)
#   POSTGRES_TLS_CERT_FILE, POSTGRES_TLS_KEY_FILE  optional: TLS on; POSTGRES_TLS_REQUIRED=true refuses plain TCP
# Clients over TCP authenticate with scram-sha-256; the unix socket (inside the pod only) is trusted.
set -euo pipefail

secret() {  # secret NAME: $NAME, or the content of the file $NAME_FILE
    local file_var="$1_FILE"
    if [[ -n "${!file_var:-}" ]]; then
        local value
        value="$(<"${!file_var}")"
        printf '%s' "${value%$'\n'}"
    else
        printf '%s' "${!1:-}"
    fi
}

user="$(secret POSTGRES_USER)"
user="${user:-postgres}"
password="$(secret POSTGRES_PASSWORD)"
database="${POSTGRES_DB:-$user}"
: "${PGDATA:?PGDATA must name the data folder}"
if [[ -z "$password" ]]; then
    echo "medimaging-postgres: POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE is required (from a Secret)" >&2
    exit 2
fi
runtime="$(mktemp -d)"

# An arbitrary UID has no passwd entry: initdb and single-user mode need one.
if ! getent passwd "$(id -u)" >/dev/null; then
    { cat /etc/passwd; echo "postgres-runtime:x:$(id -u):$(id -g):PostgreSQL:${PGDATA}:/usr/sbin/nologin"; } \
        >"$runtime/passwd"
    export LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$runtime/passwd" NSS_WRAPPER_GROUP=/etc/group
fi

# Kubernetes' fsGroup makes the claim group-writable at every pod start (recursively, unless fsGroupChangePolicy is
# OnRootMismatch), which PostgreSQL refuses for its data folder: 0700 again, as the official image does.
if [[ -d "$PGDATA" ]]; then
    chmod 0700 "$PGDATA"
fi

quote_ident() { printf '"%s"' "${1//\"/\"\"}"; }
quote_literal() { printf "'%s'" "${1//\'/\'\'}"; }

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    echo "medimaging-postgres: initdb in $PGDATA"
    mkdir -p -m 0700 "$PGDATA"
    printf '%s\n' "$password" >"$runtime/pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$runtime/pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$runtime/pwfile"
    if [[ "$database" != "postgres" ]]; then
        echo "CREATE DATABASE $(quote_ident "$database") OWNER $(quote_ident "$user")" \
            | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
fi
# The Secret's password wins over what the data folder holds (a rotated Secret takes effect at the next start).
echo "ALTER ROLE $(quote_ident "$user") WITH LOGIN PASSWORD $(quote_literal "$password")" \
    | postgres --single -D "$PGDATA" -c log_statement=none postgres >/dev/null

# pg_hba.conf from the settings of this start (not from the data folder): TCP always with a password.
tcp="host"
options=(-c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql -c "hba_file=$runtime/pg_hba.conf"
         -c password_encryption=scram-sha-256)
if [[ -n "${POSTGRES_TLS_CERT_FILE:-}" ]]; then
    # PostgreSQL wants the key 0600 and owned by the server's user: a copy of the mounted Secret file.
    install -m 0600 "${POSTGRES_TLS_KEY_FILE:?POSTGRES_TLS_KEY_FILE goes with POSTGRES_TLS_CERT_FILE}" "$runtime/tls.key"
    options+=(-c ssl=on -c "ssl_cert_file=$POSTGRES_TLS_CERT_FILE" -c "ssl_key_file=$runtime/tls.key"
              -c ssl_min_protocol_version=TLSv1.2)
    [[ "${POSTGRES_TLS_REQUIRED:-false}" == "true" ]] && tcp="hostssl"
fi
printf '%s\n' "local all all trust" "$tcp all all 0.0.0.0/0 scram-sha-256" "$tcp all all ::/0 scram-sha-256" \
    >"$runtime/pg_hba.conf"
unset POSTGRES_PASSWORD password
exec postgres -D "$PGDATA" "${options[@]}" "$@"
