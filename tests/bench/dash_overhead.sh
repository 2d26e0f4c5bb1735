#!/usr/bin/env bash
# Training throughput with the dashboard against --no-tui, side by side:
# both run in the same kind of terminal (tmux, 120x40, UTF-8), niced, in
# alternation, and report --json's samples_per_sec (training time only).
# Prints each run and the medians; SPEC §2 asks for the dashboard to keep
# at least 97% of the plain rate.
#
# usage: dash_overhead.sh NNLAB SOURCE_ROOT [RUNS [EPOCHS [MODEL [OPTION...]]]]
# (further options go to both runs, e.g. --threads 1)
# With WITH_PAD=1 the dashboard runs also open the drawing pad on a private
# Xvfb display, with a digit drawn on it so that every weight snapshot is
# classified and the bars redrawn, and the plain runs have --no-gui: the
# cost of both windows together.
set -euo pipefail

nnlab=$1
root=$2
runs=${3:-3}
epochs=${4:-10}
model=${5:-mlp}
extra=("${@:6}")
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed"; exit 77; }
tmp=$(mktemp -d)
sock=$tmp/tmux.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
xvfb_pid=
# (|| true: under set -e a failing command would end the trap early)
trap 'T kill-server >/dev/null 2>&1 || true; [[ -z $xvfb_pid ]] || kill $xvfb_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
pad_env="DISPLAY= WAYLAND_DISPLAY="
if [[ ${WITH_PAD:-0} == 1 ]]; then
	command -v Xvfb >/dev/null && command -v xdotool >/dev/null || { echo "SKIP: Xvfb or xdotool missing"; exit 77; }
	Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" >/dev/null 2>&1 &
	xvfb_pid=$!
	until [[ -s $tmp/display ]]; do sleep 0.05; done
	display=:$(head -1 "$tmp/display")
	pad_env="DISPLAY=$display"
fi

# run NAME OPTIONS...: one training run in a fresh tmux session; prints
# samples_per_sec from the JSON object it left on the screen, and the
# process's CPU seconds (user + system) from /usr/bin/time.
run() {
	local name=$1
	shift
	local envs=$pad_env opts=
	[[ ${WITH_PAD:-0} == 1 && $* == *--no-tui* ]] && opts=--no-gui
	[[ ${WITH_PAD:-0} == 1 && $* != *--no-tui* ]] && opts="--events $tmp/$name.events"
	T -u new-session -d -s "$name" -x 120 -y 40 \
		"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color $envs nice -n 5 /usr/bin/time -o $tmp/$name.time -f '%U %S' $nnlab train --data $root/data/mnist-small --model $model --epochs $epochs --json $opts ${extra[*]} $*; echo EXITED; sleep 600"
	if [[ $opts == --events* ]]; then # draw a stroke on the pad once it is up
		until grep -qs '"event":"ready"' "$tmp/$name.events" || T capture-pane -p -t "$name" | grep -q EXITED; do
			sleep 0.05
		done
		local window
		window=$(DISPLAY=$display xdotool search --name "nnlab pad" | head -1)
		[[ -n $window ]] && DISPLAY=$display xdotool mousemove --window "$window" 200 150 mousedown 1 \
			mousemove --window "$window" 300 300 mousemove --window "$window" 250 500 mouseup 1
	fi
	until T capture-pane -p -t "$name" | grep -q EXITED; do sleep 0.2; done
	local rate
	rate=$(T capture-pane -p -J -S - -t "$name" | grep -o '{"model".*}' | python3 -c '
import json, sys
print(json.loads(sys.stdin.read())["samples_per_sec"])')
	echo "$rate $(awk '{print $1 + $2}' "$tmp/$name.time")"
	T kill-session -t "$name"
}

# Pairs run back to back, in alternating order, so both sides of a pair see
# much the same load from anything else on the machine.
results=()
for ((i = 1; i <= runs; i++)); do
	if ((i % 2)); then
		d=$(run "dash$i" --exit-when-done)
		p=$(run "plain$i" --no-tui)
	else
		p=$(run "plain$i" --no-tui)
		d=$(run "dash$i" --exit-when-done)
	fi
	results+=("$d $p")
	read -r dr dc <<<"$d"
	read -r pr pc <<<"$p"
	printf 'pair %d: dashboard %.0f samples/s (%.2f s CPU), --no-tui %.0f samples/s (%.2f s CPU), ratio %.3f\n' \
		"$i" "$dr" "$dc" "$pr" "$pc" "$(python3 -c "print($dr / $pr)")"
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
d = [r[0] for r in rows]; p = [r[2] for r in rows]
dc = [r[1] for r in rows]; pc = [r[3] for r in rows]
print(f"median samples/s: dashboard {statistics.median(d):.0f}, --no-tui {statistics.median(p):.0f}, "
      f"ratio of medians {statistics.median(d) / statistics.median(p):.3f}, "
      f"median of pair ratios {statistics.median(a / b for a, b in zip(d, p)):.3f}")
print(f"median CPU seconds per run: dashboard {statistics.median(dc):.2f}, --no-tui {statistics.median(pc):.2f}")
'
