# shellcheck shell=bash
# Throwaway PostgreSQL 15 and Redis for tests and demos, on loopback ports of their own, under one
# directory. Source this file, call start_services DIR, and stop_services when done (trap it).
# Exports ROLLBACK_TEST_POSTGRES_URL and ROLLBACK_TEST_REDIS_URL.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the postgres user (initdb and pg_ctl refuse root), from a directory it can read.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

start_postgres() {
    local dir=$1
    SERVICES_PG_DIR=$dir/postgres
    SERVICES_PG_PORT=$(free_port)
    mkdir -p "$SERVICES_PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$SERVICES_PG_DIR"
    as_postgres "$PG_BIN/initdb" -D "$SERVICES_PG_DIR/data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log"; return 1; }
    pg_start || return 1
    as_postgres psql -q -h "$SERVICES_PG_DIR" -p "$SERVICES_PG_PORT" -U postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE rollback LOGIN PASSWORD 'rollback-test'" -c "CREATE DATABASE rollback OWNER rollback" >/dev/null
    export ROLLBACK_TEST_POSTGRES_URL="postgres://rollback:rollback-test@127.0.0.1:$SERVICES_PG_PORT/rollback"
    echo "postgres: 127.0.0.1:$SERVICES_PG_PORT (data in $SERVICES_PG_DIR/data)"
}

# Starts the initialised server with its options (the same at every start).
pg_start() {
    as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_PG_DIR/data" -l "$SERVICES_PG_DIR/server.log" -w -t 60 \
        -o "-p $SERVICES_PG_PORT -k $SERVICES_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 ${SERVICES_PG_OPTIONS:-}" \
        start >/dev/null || { cat "$SERVICES_PG_DIR/server.log"; return 1; }
}

# Stops PostgreSQL as a crash would (immediate: no checkpoint, connections cut), waits PAUSE
# seconds and starts it again on the same port. For the soak's fault injector.
restart_postgres() {
    as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    sleep "${1:-0}"
    pg_start
}

start_redis() {
    local dir=$1
    SERVICES_REDIS_DIR=$dir/redis
    SERVICES_REDIS_PORT=$(free_port)
    mkdir -p "$SERVICES_REDIS_DIR"
    redis-server --port "$SERVICES_REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --dir "$SERVICES_REDIS_DIR" --pidfile "$SERVICES_REDIS_DIR/redis.pid" --logfile "$SERVICES_REDIS_DIR/redis.log"
    local deadline=$((SECONDS + 20))
    until redis-cli -p "$SERVICES_REDIS_PORT" ping >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { echo "redis did not start:"; cat "$SERVICES_REDIS_DIR/redis.log"; return 1; }
        sleep 0.1
    done
    export ROLLBACK_TEST_REDIS_URL="redis://127.0.0.1:$SERVICES_REDIS_PORT"
    echo "redis: 127.0.0.1:$SERVICES_REDIS_PORT"
}

start_services() {
    start_postgres "$1" && start_redis "$1"
}

stop_services() {
    if [ -n "${SERVICES_REDIS_PORT:-}" ]; then
        redis-cli -p "$SERVICES_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        local deadline=$((SECONDS + 10))
        while redis-cli -p "$SERVICES_REDIS_PORT" ping >/dev/null 2>&1 && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        SERVICES_REDIS_PORT=
    fi
    if [ -n "${SERVICES_PG_DIR:-}" ] && [ -d "$SERVICES_PG_DIR/data" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        SERVICES_PG_DIR=
    fi
}
