# A throwaway PostgreSQL 15 + PostGIS cluster, for tests/run.sh and bench/run.sh (source this file).
#
#   pg_cluster_install            # apt-get what is missing (postgresql-15-postgis-3, gdal-bin, extra packages)
#   pg_cluster_start DIR PORT     # initdb + start under DIR on 127.0.0.1, first free port from PORT;
#                                 # sets PG_CLUSTER_URL (admin URL) and PG_CLUSTER_PORT
#   pg_cluster_stop               # stop it (safe to call twice)
#   psql_admin ARGS...            # psql on the admin database
#
# PostgreSQL refuses to run as root: as root the cluster runs as `postgres` (created if missing).

pg_bin=/usr/lib/postgresql/15/bin

say() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_cluster_install() {
    local missing=()
    [ -x "$pg_bin/initdb" ] || missing+=(postgresql-15)
    [ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
    command -v ogrinfo >/dev/null || missing+=(gdal-bin)
    local extra
    for extra in "$@"; do
        dpkg -s "$extra" >/dev/null 2>&1 || missing+=("$extra")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]}"
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
}

if [ "$(id -u)" -eq 0 ]; then
    pg_user=postgres
    as_pg() { runuser -u "$pg_user" -- "$@"; }
else
    pg_user="$(id -un)"
    as_pg() { "$@"; }
fi

pg_cluster_stop() {
    if [ -n "${pg_root:-}" ] && [ -f "$pg_root/data/postmaster.pid" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$pg_root/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

pg_cluster_start() {
    pg_root="$1"
    local port="$2"
    [ "$(id -u)" -ne 0 ] || id "$pg_user" >/dev/null 2>&1 || useradd --system --user-group --no-create-home "$pg_user"
    # A cluster left by an interrupted run: stop it, then start afresh.
    pg_cluster_stop
    rm -rf "$pg_root"
    mkdir -p "$pg_root/socket"
    [ "$(id -u)" -ne 0 ] || chown -R "$pg_user:" "$pg_root"
    # The first free port (bash's /dev/tcp: nothing else to install).
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    say "starting PostgreSQL 15 in $pg_root on 127.0.0.1:$port"
    as_pg "$pg_bin/initdb" -D "$pg_root/data" -U postgres --auth=trust -E UTF8 --no-locale >"$pg_root/initdb.log"
    # Durability is pointless for a throwaway cluster; skipping fsync makes CREATE DATABASE cheap.
    as_pg "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w -o "\
        -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg_root/socket \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
        ${PG_CLUSTER_OPTIONS:-}" start >/dev/null
    PG_CLUSTER_PORT="$port"
    PG_CLUSTER_URL="postgres://postgres@127.0.0.1:$port/postgres"
    export PG_CLUSTER_PORT PG_CLUSTER_URL
}

psql_admin() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$PG_CLUSTER_URL" "$@"; }
