# Shared by the scripts that run a real classifyd: sourced, not run.
#
#   tmp         a scratch directory, removed on exit with the server stopped
#   server_pid  set it once classifyd runs; cleanup stops it
#   free_port   prints a loopback port where nothing answers
#   wait_ready ADDR LOG  waits (60 s) for /readyz, or prints LOG and exits

tmp=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Another program could take the port before classifyd binds it; then
# wait_ready fails loudly.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free loopback port found" >&2
	return 1
}

wait_ready() {
	local addr=$1 log=$2
	for _ in $(seq 300); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "classifyd exited during start-up:" >&2
			cat "$log" >&2
			exit 1
		fi
		if curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	echo "classifyd not ready after 60 s:" >&2
	tail -n 20 "$log" >&2
	exit 1
}
