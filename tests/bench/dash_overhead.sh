#!/usr/bin/env bash
# Training throughput with the dashboard against --no-tui, side by side:
# both run in the same kind of terminal (tmux, 120x40, UTF-8), niced, in
# alternation, and report --json's samples_per_sec (training time only).
# Prints each run and the medians; SPEC §2 asks for the dashboard to keep
# at least 97% of the plain rate.
#
# usage: dash_overhead.sh NNLAB SOURCE_ROOT [RUNS [EPOCHS [MODEL]]]
set -euo pipefail

nnlab=$1
root=$2
runs=${3:-3}
epochs=${4:-10}
model=${5:-mlp}
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed"; exit 77; }
tmp=$(mktemp -d)
sock=$tmp/tmux.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
trap 'T kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT

# run NAME OPTIONS...: one training run in a fresh tmux session; prints
# samples_per_sec from the JSON object it left on the screen.
run() {
	local name=$1
	shift
	T -u new-session -d -s "$name" -x 120 -y 40 \
		"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color nice -n 5 $nnlab train --data $root/data/mnist-small --model $model --epochs $epochs --json $*; echo EXITED; sleep 600"
	until T capture-pane -p -t "$name" | grep -q EXITED; do sleep 0.2; done
	T capture-pane -p -J -S - -t "$name" | grep -o '{"model".*}' | python3 -c '
import json, sys
print(json.loads(sys.stdin.read())["samples_per_sec"])'
	T kill-session -t "$name"
}

dash=() plain=()
for ((i = 1; i <= runs; i++)); do
	d=$(run "dash$i" --exit-when-done)
	p=$(run "plain$i" --no-tui)
	printf 'run %d: dashboard %.0f samples/s, --no-tui %.0f samples/s\n' "$i" "$d" "$p"
	dash+=("$d")
	plain+=("$p")
done
python3 - "${dash[*]}" "${plain[*]}" <<'PY'
import statistics, sys
d = [float(x) for x in sys.argv[1].split()]
p = [float(x) for x in sys.argv[2].split()]
md, mp = statistics.median(d), statistics.median(p)
print(f"median: dashboard {md:.0f} samples/s, --no-tui {mp:.0f} samples/s, ratio {md / mp:.3f}")
PY
