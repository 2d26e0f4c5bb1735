#!/usr/bin/env bash
# End-to-end check of the search's live table in a real terminal (tmux):
# it shows every trial with its parameters and state and marks the best
# finished one; q stops a search early, keeping the finished trials, and
# leaves the results on the normal screen with status 0; Ctrl-C exits 130.
#
# usage: search_tui.sh NNLAB SOURCE_ROOT
# Exits 77 (skipped) only when tmux is not installed.
set -uo pipefail

nnlab=$(realpath "$1")
if ! command -v tmux >/dev/null 2>&1; then
	echo "SKIP: tmux is not installed; the search table test needs a terminal to drive"
	exit 77
fi
tmp=$(mktemp -d)
# A server per scenario, so one shutting down never races the next start.
sock=$tmp/tmux-1.sock
T() { tmux -S "$sock" -f /dev/null "$@"; }
trap 'for s in "$tmp"/tmux-*.sock; do tmux -S "$s" kill-server >/dev/null 2>&1; done; rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
screen() { T capture-pane -p 2>/dev/null; }
on_failure() {
	echo "--- screen ---"
	screen
	echo "--------------"
}
shows() { screen | grep -qF -- "$1"; }

# 1. A grid that finishes: the table, the best trial marked, q leaves it.
T new-session -d -x 120 -y 30 "TERM=xterm-256color '$nnlab' search --grid 'lr=0.05,0.5 batch=32,64' --model linear --epochs 2; echo EXIT=\$?; sleep 60"
checks=$((checks + 1))
wait_for 20 shows "nnlab search  lr=0.05,0.5 batch=32,64" || fail "the table did not come up"
checks=$((checks + 1))
wait_for 30 shows "4/4 finished" || fail "the table never showed 4/4 finished"
for want in "trial  parameters" "lr=0.05 batch=32" "lr=0.5 batch=64" "<- best" "search finished: q leaves"; do
	checks=$((checks + 1))
	shows "$want" || fail "the table lacks '$want'"
done
T send-keys q
checks=$((checks + 1))
wait_for 10 shows "EXIT=0" || fail "q did not leave with status 0"
checks=$((checks + 1))
shows "reproduce: nnlab train" || fail "the results were not printed after the table"
T kill-server

sock=$tmp/tmux-2.sock

# 2. q in the middle stops the search and keeps what finished.
T new-session -d -x 120 -y 30 "TERM=xterm-256color '$nnlab' search --grid 'lr=0.05,0.1,0.2,0.3,0.4,0.5' --model linear --epochs 8 --jobs 1; echo EXIT=\$?; sleep 60"
checks=$((checks + 1))
wait_for 30 shows "1/6 finished" || fail "no trial finished"
T send-keys q
checks=$((checks + 1))
wait_for 15 shows "EXIT=" || fail "q did not stop the search"
checks=$((checks + 1))
shows "Stopped:" || fail "a stopped search does not say so"
T kill-server

sock=$tmp/tmux-3.sock

# 3. Ctrl-C: status 130.
T new-session -d -x 120 -y 30 "TERM=xterm-256color '$nnlab' search --grid 'lr=0.05,0.1,0.2,0.3' --model mlp --epochs 20 --jobs 1; echo EXIT=\$?; sleep 60"
checks=$((checks + 1))
wait_for 20 shows "nnlab search" || fail "the table did not come up"
T send-keys C-c
checks=$((checks + 1))
wait_for 15 shows "EXIT=130" || fail "Ctrl-C did not exit 130"
T kill-server

echo "$((checks - failures)) of $checks checks passed"
((failures == 0))
