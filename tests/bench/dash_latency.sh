#!/usr/bin/env bash
# Key-to-screen latency of the dashboard while it trains at full speed:
# alternately sends + and - (double and halve the learning rate) and times
# each from tmux send-keys until the header shows the new value, polling the
# screen with capture-pane (which itself takes a few milliseconds, so the
# figures are upper bounds).  Prints every sample and the median, 90th
# percentile and maximum in milliseconds.
#
# usage: dash_latency.sh NNLAB SOURCE_ROOT [PRESSES [MODEL]]
set -euo pipefail

nnlab=$1
root=$2
presses=${3:-40}
model=${4:-mlp}
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed"; exit 77; }
tmp=$(mktemp -d)
sock=$tmp/tmux.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
trap 'T kill-server >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

T -u new-session -d -s lat -x 80 -y 24 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color $nnlab train --data $root/data/mnist-small --model $model --epochs 100000"
lr() { T capture-pane -p -t lat | sed -n 2p | grep -o '^ lr [^ ]*' | cut -d' ' -f3; }
until T capture-pane -p -t lat | sed -n 1p | grep -q RUNNING; do sleep 0.1; done
sleep 2 # into steady training

python3 - "$sock" "$presses" <<'PY'
import statistics, subprocess, sys, time
sock, presses = sys.argv[1], int(sys.argv[2])
def tmux(*args):
    return subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", *args], capture_output=True, text=True).stdout
def lr():
    line = tmux("capture-pane", "-p", "-t", "lat").split("\n")[1]
    return line.split()[1]
samples = []
for i in range(presses):
    before = lr()
    key = "+" if i % 2 == 0 else "-"
    t0 = time.monotonic()
    tmux("send-keys", "-t", "lat", key)
    while lr() == before:
        if time.monotonic() - t0 > 2:
            break
    ms = (time.monotonic() - t0) * 1000
    samples.append(ms)
    running = "RUNNING" in tmux("capture-pane", "-p", "-t", "lat").split("\n")[0]
    print(f"press {i + 1:2d} '{key}': lr {before} -> {lr()} in {ms:.1f} ms{'' if running else ' (not running!)'}")
    time.sleep(0.25)
samples.sort()
p90 = samples[int(0.9 * (len(samples) - 1))]
print(f"key to screen: median {statistics.median(samples):.1f} ms, 90th percentile {p90:.1f} ms, max {samples[-1]:.1f} ms over {len(samples)} presses")
PY
T send-keys -t lat q
