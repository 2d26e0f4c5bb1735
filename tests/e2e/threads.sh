#!/usr/bin/env bash
# Training with every thread nnlab starts: the batch helper (--threads 2),
# and the trainer thread of a session with the dashboard on the main thread
# (in tmux), driven with keys (step, pause, resume, learning rate, save)
# while it trains. Meant for the ThreadSanitizer build (script/test runs it
# there), where any report fails it; in any build it checks that both runs
# finish, exit 0 and save.
#
# usage: threads.sh NNLAB SOURCE_ROOT
set -uo pipefail

nnlab=$1
root=$2
tmp=$(mktemp -d)
sock=$tmp/tmux.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
trap 'T kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
export OPENBLAS_NUM_THREADS=1 NO_COLOR=1 DISPLAY= WAYLAND_DISPLAY=
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0}

reports() { grep -c 'WARNING: ThreadSanitizer' "$1"; }

"$nnlab" train --no-tui --no-gui --threads 2 --model mlp --epochs 1 --data "$root/data/mnist-small" \
	--save "$tmp/plain.nnl" >"$tmp/plain.out" 2>"$tmp/plain.err"
code=$?
[[ $code == 0 ]] || fail "train --threads 2 exited $code: $(tail -n 5 "$tmp/plain.err")"
[[ $(reports "$tmp/plain.err") == 0 ]] || fail "train --threads 2: $(grep -A12 'WARNING: ThreadSanitizer' "$tmp/plain.err" | head -n 40)"
echo "ok: train --threads 2"

if ! command -v tmux >/dev/null 2>&1; then
	echo "note: no tmux, so no dashboard run"
else
	T new-session -d -s t -x 100 -y 30 \
		"'$nnlab' train --threads 2 --model mlp --epochs 2 --exit-when-done --data '$root/data/mnist-small' --save '$tmp/dash.nnl' 2>'$tmp/dash.err'; echo \$? >'$tmp/dash.exit'"
	for _ in $(seq 300); do
		T capture-pane -p -t t 2>/dev/null | grep -q RUNNING && break
		sleep 0.1
	done
	for key in n Space n + - Space s; do
		T send-keys -t t "$key" 2>/dev/null
		sleep 0.3
	done
	for _ in $(seq 1200); do
		[[ -s $tmp/dash.exit ]] && break
		sleep 0.1
	done
	code=$(cat "$tmp/dash.exit" 2>/dev/null)
	[[ $code == 0 ]] || fail "train with the dashboard exited '${code:-still running}': $(tail -n 5 "$tmp/dash.err")"
	[[ -s $tmp/dash.nnl ]] || fail "the dashboard run did not save"
	[[ $(reports "$tmp/dash.err") == 0 ]] || fail "dashboard run: $(grep -A12 'WARNING: ThreadSanitizer' "$tmp/dash.err" | head -n 40)"
	echo "ok: train with the dashboard, keys pressed while it trains"
fi
((failures == 0))
