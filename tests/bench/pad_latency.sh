#!/usr/bin/env bash
# Latency of the drawing pad while the network trains at full speed: on a
# private Xvfb display, trains MODEL with the pad and drags the mouse over
# the canvas in MOVES steps (xdotool, 40 ms apart), then reads from the
# pad's --events log, for every drawing change, the time from the mouse
# event reaching the pad to the updated bars being on screen (the pad
# times it; the X server's own queueing before that is not included), and
# the CPU the pad spent classifying and drawing. Prints the median, 90th,
# 95th and 99th percentiles and the maximum in milliseconds.
#
# usage: pad_latency.sh NNLAB SOURCE_ROOT [MOVES [MODEL]]
set -euo pipefail

nnlab=$1
root=$2
moves=${3:-200}
model=${4:-lenet}
for tool in Xvfb xdotool; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
tmp=$(mktemp -d)
xvfb_pid=
app_pid=
trap '[[ -z $app_pid ]] || kill $app_pid 2>/dev/null || true; [[ -z $xvfb_pid ]] || kill $xvfb_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>/dev/null &
xvfb_pid=$!
until [[ -s $tmp/display ]]; do sleep 0.05; done
export DISPLAY=:$(head -1 "$tmp/display")

events=$tmp/events.jsonl
"$nnlab" train --no-tui --model "$model" --data "$root/data/mnist-small" --epochs 100000 --events "$events" \
	>"$tmp/train.out" 2>&1 &
app_pid=$!
until grep -qs '"event":"ready"' "$events"; do sleep 0.05; done
until grep -q '^epoch  *1/' "$tmp/train.out"; do sleep 0.1; done # into steady training
window=$(xdotool search --name "nnlab pad" | head -1)

xdotool mousemove --window "$window" 200 200 mousedown 1
for i in $(seq "$moves"); do
	xdotool mousemove --window "$window" $((100 + i * 37 % 440)) $((100 + i * 53 % 440))
	sleep 0.04
done
xdotool mouseup 1
sleep 0.5
kill "$app_pid"
wait "$app_pid" 2>/dev/null || true
app_pid=

python3 - "$events" "$model" <<'PY'
import json, sys
ev = [json.loads(line) for line in open(sys.argv[1])]
strokes = [e for e in ev if e.get("cause") == "stroke" and e.get("latency_ms") is not None]
assert strokes, "no drawing changes were timed"
assert all(e["state"] == "RUNNING" for e in strokes), "training was not running throughout"
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]
lat = [e["latency_ms"] for e in strokes]
print("%s training at full speed, %d drawing changes, mouse event to bars on screen (ms):" % (sys.argv[2], len(lat)))
print("  median %.1f  p90 %.1f  p95 %.1f  p99 %.1f  max %.1f  (%.1f%% within 16 ms)"
      % (pct(lat, .5), pct(lat, .9), pct(lat, .95), pct(lat, .99), max(lat), 100 * sum(l <= 16 for l in lat) / len(lat)))
print("  the pad's CPU per change: classify %.2f ms wall (median), draw %.2f ms CPU (median), renderer %s"
      % (pct([e["classify_ms"] for e in strokes], .5), pct([e["render_cpu_ms"] for e in strokes], .5),
         next(e["renderer"] for e in ev if e.get("event") == "ready")))
PY
