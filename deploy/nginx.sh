#!/usr/bin/env bash
# nginx (Debian's package) in front of gunicorn, with the configuration of deploy/nginx/.
#
#   deploy/nginx.sh start        # the loopback server: plain http on $NGINX_LISTEN
#   deploy/nginx.sh stop         # graceful: finishes the requests under way
#   deploy/nginx.sh status
#   deploy/nginx.sh render DIR   # the production files (TLS) into DIR, for /etc/nginx
#
# SHOP_UPSTREAMS: gunicorn addresses, comma-separated (127.0.0.1:8000); STATIC_ROOT and
# MEDIA_ROOT: the shop's collected static files and uploads (staticfiles/, media/ here).
# render also reads SERVER_NAME, TLS_CERT, TLS_KEY and NGINX_RUN_DIR (where the cache lives).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RUN_DIR=${NGINX_RUN_DIR:-/run/shop-nginx}
LISTEN=${NGINX_LISTEN:-127.0.0.1:8080}
UPSTREAMS=${SHOP_UPSTREAMS:-127.0.0.1:8000}
STATIC_ROOT=${STATIC_ROOT:-$ROOT/staticfiles}
MEDIA_ROOT=${MEDIA_ROOT:-$ROOT/media}
OS_USER=${NGINX_OS_USER:-www-data}

log() { printf 'nginx: %s\n' "$*"; }

render() {
  # render TARGET_DIR FILE...: the templates with every @VALUE@ filled in.
  local target=$1 servers="" address file user_line=""
  shift
  IFS=',' read -ra addresses <<<"$UPSTREAMS"
  for address in "${addresses[@]}"; do
    servers+="    server $address max_fails=3 fail_timeout=10s;"$'\n'
  done
  [ "$(id -u)" = 0 ] && user_line="user $OS_USER;"
  mkdir -p "$target"
  for file in "$@"; do
    SERVERS="$servers" awk -v run="$RUN_DIR" -v conf="$target" -v listen="$LISTEN" \
      -v static="$STATIC_ROOT" -v media="$MEDIA_ROOT" -v user="$user_line" \
      -v name="${SERVER_NAME:-shop.example.com}" -v cert="${TLS_CERT:-/etc/ssl/certs/shop.pem}" \
      -v key="${TLS_KEY:-/etc/ssl/private/shop.key}" '
      /@UPSTREAM_SERVERS@/ { printf "%s", ENVIRON["SERVERS"]; next }
      {
        gsub(/@RUN_DIR@/, run); gsub(/@CONF_DIR@/, conf); gsub(/@LISTEN@/, listen)
        gsub(/@STATIC_ROOT@/, static); gsub(/@MEDIA_ROOT@/, media); gsub(/@USER_LINE@/, user)
        gsub(/@SERVER_NAME@/, name); gsub(/@TLS_CERT@/, cert); gsub(/@TLS_KEY@/, key)
        print
      }' "deploy/nginx/$file" >"$target/$file"
  done
}

pid_alive() {
  [ -f "$RUN_DIR/nginx.pid" ] && kill -0 "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null
}

start() {
  if pid_alive; then
    log "running on http://$LISTEN/"
    return
  fi
  command -v nginx >/dev/null || {
    log "not installed (apt-get install -y nginx)"
    exit 1
  }
  mkdir -p "$RUN_DIR/conf" "$RUN_DIR/cache" "$MEDIA_ROOT"
  render "$RUN_DIR/conf" nginx.conf shop-http.conf shop-locations.conf shop-proxy.conf \
    shop-loopback.conf
  [ "$(id -u)" = 0 ] && chown -R "$OS_USER:" "$RUN_DIR/cache"
  nginx -q -t -p "$RUN_DIR" -e "$RUN_DIR/error.log" -c "$RUN_DIR/conf/nginx.conf"
  nginx -p "$RUN_DIR" -e "$RUN_DIR/error.log" -c "$RUN_DIR/conf/nginx.conf"
  for _ in $(seq 1 50); do
    pid_alive && break
    sleep 0.1
  done
  pid_alive || {
    log "FAILED to start"
    tail -n 20 "$RUN_DIR/error.log" >&2
    exit 1
  }
  log "started on http://$LISTEN/ -> $UPSTREAMS"
}

stop() {
  if pid_alive; then
    local pid
    pid=$(cat "$RUN_DIR/nginx.pid")
    kill -QUIT "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  log "stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if pid_alive; then log "running on http://$LISTEN/"; else
      log "not running"
      exit 1
    fi
    ;;
  render)
    [ -n "${2:-}" ] || {
      echo "usage: $0 render DIR" >&2
      exit 2
    }
    render "$2" shop-http.conf shop-locations.conf shop-proxy.conf shop-tls.conf
    log "production files in $2: include shop-http.conf and shop-tls.conf in http{}"
    ;;
  *)
    echo "usage: $0 start|stop|status|render DIR" >&2
    exit 2
    ;;
esac
