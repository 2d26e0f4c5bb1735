#!/usr/bin/env bash
# What the dashboard and the drawing pad take from training, as CPU time
# rather than as a throughput ratio: on a shared machine two runs of the same
# command can differ by a third, but the CPU the main thread (which owns
# ncurses and SDL and does nothing else) spends is counted by the kernel
# whatever the load. Trains MODEL with both open (the dashboard in a tmux
# session, the pad on a private Xvfb display with a digit drawn on it, so
# that every weight snapshot is classified and the bars redrawn), waits
# SECONDS, and prints the main thread's CPU seconds as a share of one core
# and of all the cores training could use. SPEC §2 allows the UI 3% of
# training's throughput.
#
# usage: ui_cpu.sh NNLAB SOURCE_ROOT [SECONDS [MODEL]]
set -euo pipefail

nnlab=$1
root=$2
seconds=${3:-20}
model=${4:-mlp}
for tool in tmux Xvfb xdotool; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
tmp=$(mktemp -d)
sock=$tmp/tmux.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
xvfb_pid=
trap 'T kill-server >/dev/null 2>&1 || true; [[ -z $xvfb_pid ]] || kill $xvfb_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>/dev/null &
xvfb_pid=$!
until [[ -s $tmp/display ]]; do sleep 0.05; done
display=:$(head -1 "$tmp/display")

T new-session -d -s ui -x 120 -y 40 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color DISPLAY=$display $nnlab train --model $model --data $root/data/mnist-small --epochs 100000 --events $tmp/events; sleep 600"
until grep -qs '"event":"ready"' "$tmp/events"; do sleep 0.05; done
window=$(DISPLAY=$display xdotool search --name "nnlab pad" | head -1)
DISPLAY=$display xdotool mousemove --window "$window" 200 150 mousedown 1 \
	mousemove --window "$window" 300 300 mousemove --window "$window" 250 500 mouseup 1
pid=$(T list-panes -t ui -F '#{pane_pid}')
pid=$(pgrep -P "$pid" -x nnlab || pgrep -n -x nnlab)
sleep 1
ticks() { # main thread, whole process: utime + stime in clock ticks
	awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat"
	awk '{print $14 + $15}' "/proc/$pid/stat"
}
mapfile -t before < <(ticks)
start=$(date +%s.%N)
sleep "$seconds"
mapfile -t after < <(ticks)
end=$(date +%s.%N)
threads=$(nproc)
python3 - "$start" "$end" "${before[@]}" "${after[@]}" "$(getconf CLK_TCK)" "$threads" <<'EOF'
import sys
start, end, ui0, all0, ui1, all1, hz, cores = map(float, sys.argv[1:])
wall = end - start
ui = (ui1 - ui0) / hz
total = (all1 - all0) / hz
print(f"over {wall:.1f} s: the UI thread used {ui:.2f} s of CPU, {100 * ui / wall:.1f}% of one core "
      f"and {100 * ui / (cores * wall):.2f}% of the {cores:.0f} cores; the whole process {total:.1f} s")
EOF
