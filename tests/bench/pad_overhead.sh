#!/usr/bin/env bash
# What the drawing pad costs training: PAIRS alternating runs of MODEL
# (3 epochs, seed 1) with --no-gui and with the pad open on a private Xvfb
# display, a digit drawn on it so that every weight snapshot (20 a second)
# is classified and the bars redrawn. Prints samples/s of each run and the
# medians.
#
# usage: pad_overhead.sh NNLAB SOURCE_ROOT [PAIRS [MODEL]]
set -euo pipefail

nnlab=$1
root=$2
pairs=${3:-8}
model=${4:-lenet}
for tool in Xvfb xdotool; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
tmp=$(mktemp -d)
xvfb_pid=
trap '[[ -z $xvfb_pid ]] || kill $xvfb_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>/dev/null &
xvfb_pid=$!
until [[ -s $tmp/display ]]; do sleep 0.05; done
export DISPLAY=:$(head -1 "$tmp/display")

run() { # run MODE: prints samples/s
	local mode=$1 events=$tmp/events.jsonl
	rm -f "$events"
	local common=(train --no-tui --model "$model" --data "$root/data/mnist-small" --epochs 3 --seed 1 --json)
	if [[ $mode == no-gui ]]; then
		"$nnlab" "${common[@]}" --no-gui >"$tmp/out.json" 2>/dev/null
	else
		"$nnlab" "${common[@]}" --exit-when-done --events "$events" >"$tmp/out.json" 2>/dev/null &
		local pid=$!
		until grep -qs '"event":"ready"' "$events"; do sleep 0.05; done
		local window
		window=$(xdotool search --name "nnlab pad" | head -1)
		xdotool mousemove --window "$window" 200 150 mousedown 1 mousemove --window "$window" 300 300 \
			mousemove --window "$window" 250 500 mouseup 1
		wait "$pid"
	fi
	python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["samples_per_sec"]))' "$tmp/out.json"
}

for _ in $(seq "$pairs"); do
	a=$(run no-gui)
	b=$(run pad)
	echo "no-gui $a  pad $b"
	echo "$a $b" >>"$tmp/pairs"
done
python3 - "$tmp/pairs" <<'PY'
import statistics, sys
pairs = [tuple(map(int, line.split())) for line in open(sys.argv[1])]
a = statistics.median(p[0] for p in pairs)
b = statistics.median(p[1] for p in pairs)
print("median samples/s: no-gui %d, pad %d (%.1f%%)" % (a, b, 100 * b / a))
PY
