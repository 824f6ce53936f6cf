#!/usr/bin/env bash
# Starts or stops a local Firestore emulator for tests.
#
#   eval "$(hack/emulator.sh start)"   # prints: export FIRESTORE_EMULATOR_HOST=127.0.0.1:PORT
#   hack/emulator.sh stop
#   hack/emulator.sh status            # prints the export line if it is running
#
# The emulator listens on 127.0.0.1 on a free port. Its pid, port and log live in
# $SLIPWAY_EMULATOR_STATE (default ${TMPDIR:-/tmp}/slipway-firestore-emulator), so
# `start` is idempotent and `stop` finds it again from another shell.
# Progress goes to stderr; stdout carries only the export line, for eval.
set -euo pipefail

state="${SLIPWAY_EMULATOR_STATE:-${TMPDIR:-/tmp}/slipway-firestore-emulator}"
timeout="${SLIPWAY_EMULATOR_TIMEOUT:-90}" # seconds; cold starts take ~15 s

log() { echo "emulator: $*" >&2; }

answers() { # the emulator's root answers "Ok" once it serves requests
	[[ "$(curl -fsS --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null || true)" == Ok* ]]
}

running_port() { # prints the port of a live emulator from the state dir
	[[ -f "$state/pid" && -f "$state/port" ]] || return 1
	local pid port
	pid="$(cat "$state/pid")"
	port="$(cat "$state/port")"
	kill -0 "$pid" 2>/dev/null || return 1
	answers "$port" || return 1
	echo "$port"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
	local port pid
	if port="$(running_port)"; then
		log "already running on 127.0.0.1:$port"
		echo "export FIRESTORE_EMULATOR_HOST=127.0.0.1:$port"
		return 0
	fi
	command -v gcloud >/dev/null || { log "gcloud not found (install the Cloud SDK with the firestore emulator component)"; exit 1; }
	mkdir -p "$state"
	port="$(free_port)"
	# setsid gives the emulator its own process group: gcloud starts a Java child,
	# and stop must be able to signal both.
	setsid gcloud emulators firestore start --host-port="127.0.0.1:$port" >"$state/log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$state/pid"
	echo "$port" >"$state/port"
	log "starting (pid $pid, port $port, log $state/log)"
	local deadline=$((SECONDS + timeout))
	until answers "$port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "exited before answering; log follows"
			cat "$state/log" >&2
			rm -f "$state/pid" "$state/port"
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			log "no answer after ${timeout}s; log follows"
			cat "$state/log" >&2
			stop
			exit 1
		fi
		sleep 0.5
	done
	log "ready on 127.0.0.1:$port"
	echo "export FIRESTORE_EMULATOR_HOST=127.0.0.1:$port"
}

stop() {
	[[ -f "$state/pid" ]] || { log "not running"; return 0; }
	local pid port
	pid="$(cat "$state/pid")"
	port="$(cat "$state/port" 2>/dev/null || true)"
	if [[ -n "$port" ]]; then
		curl -fsS --max-time 5 -X POST "http://127.0.0.1:$port/shutdown" >/dev/null 2>&1 || true
	fi
	local deadline=$((SECONDS + 15))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
	# Whatever is left of the emulator's own process group (never anything else).
	kill -TERM -- "-$pid" 2>/dev/null || true
	rm -f "$state/pid" "$state/port"
	log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
	if port="$(running_port)"; then
		echo "export FIRESTORE_EMULATOR_HOST=127.0.0.1:$port"
	else
		log "not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
