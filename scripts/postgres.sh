# A throw-away PostgreSQL server for the tests: Debian's package, a fresh cluster in a temporary
# folder, listening on a free loopback port, trusted local connections only, no Docker.
# Sourced after lib.sh. `start_postgres` sets ILIVE_TEST_POSTGRES (postgres://postgres@127.0.0.1:PORT)
# and stops the server when the calling shell exits.

pg_bin() { # the newest installed server's bin folder
  compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -1 | xargs -r dirname
}

start_postgres() {
  local bin dir port run
  bin=$(pg_bin)
  [ -n "$bin" ] || die "PostgreSQL's server is not installed (apt-get install postgresql)"
  dir=$(mktemp -d /tmp/ilive-pg.XXXXXX)
  port=$(free_port)
  # The server refuses to run as root: as root, it runs as Debian's `postgres` user.
  run=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user to run PostgreSQL's server as"
    chown postgres "$dir"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
    > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # fsync off and a small WAL: the data is thrown away, speed matters.
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=300 -c full_page_writes=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; die "PostgreSQL did not start"; }
  ILIVE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port"
  export ILIVE_TEST_POSTGRES
  ILIVE_PG_DIR=$dir
  ILIVE_PG_RUN=("${run[@]}")
  ILIVE_PG_BIN=$bin
  trap stop_postgres EXIT
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throw-away, in $dir)"
}

stop_postgres() {
  [ -n "${ILIVE_PG_DIR:-}" ] || return 0
  "${ILIVE_PG_RUN[@]}" "$ILIVE_PG_BIN/pg_ctl" -D "$ILIVE_PG_DIR/data" -m immediate stop \
    >/dev/null 2>&1 || true
  rm -rf "$ILIVE_PG_DIR"
  ILIVE_PG_DIR=""
}
