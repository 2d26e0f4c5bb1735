#!/usr/bin/env bash
# A lesson on the dashboard in a real terminal (tmux): the caption panel
# shows the step's caption, Enter advances only when the step is done,
# other keys keep working (space, g), the Chinese captions wrap by display
# width, --big leaves out the confusion matrix and the event log, and
# --auto runs to the end and exits 0.
#
# usage: lesson_tui.sh NNLAB SOURCE_ROOT
# Exits 77 (skipped) only when tmux is not installed.
set -uo pipefail

nnlab=$1
root=$2
source "$(dirname "${BASH_SOURCE[0]}")/tmux_harness.sh"

start() { # start NAME COLS ROWS ARGS...
	local name=$1 cols=$2 rows=$3
	shift 3
	cat >"$tmp/$name.sh" <<-EOF
		"$nnlab" lesson $* --no-gui
		echo \$? >"$tmp/$name.exit"
		sleep 600
	EOF
	open_window "$name" "$cols" "$rows"
}

# ---- gradient-descent, by hand ----------------------------------------------------
start gd 120 40 gradient-descent
check "the caption panel shows step 1 and its caption" \
	wait_for 20 on_screen "step 1/4"
check "the caption's text is there" on_screen "The linear model: one weight per pixel"
check "the step finishes and asks for Enter" wait_for 30 on_screen "Enter: next step"
check "its expectations are shown as they hold" on_screen "✓ loss > 1"
T send-keys -t "$pane" g
check "g still toggles log-y" wait_for 5 on_screen "log y (g)"
T send-keys -t "$pane" Enter
check "Enter starts step 2" wait_for 10 on_screen "step 2/4"
check "step 2's run trains with lr 0.1" wait_for 10 on_screen "run 3: lr 0.1 (good)"
T send-keys -t "$pane" Enter Enter
sleep 1
check "Enter during a step does not skip it" on_screen "step 2/4"
check "step 2 finishes" wait_for 30 on_screen "✓ accuracy >= 80"
T send-keys -t "$pane" Enter
check "the too-large rate ends DIVERGED" wait_for 30 on_screen "DIVERGED"
check "and says why on the key line" wait_for 5 on_screen "the loss reached"
check "step 3 finishes" wait_for 20 on_screen "✓ diverged"
check "and asks for Enter" wait_for 10 on_screen "Enter: next step"
T send-keys -t "$pane" Enter
check "the last step ends the lesson" wait_for 20 on_screen "lesson done: 6 expectations held, 0 failed"
T send-keys -t "$pane" q
check "q quits" wait_for 10 exited gd
check "with status 0" [ "$(cat "$tmp/gd.exit" 2>/dev/null)" = 0 ]
check "the results are printed after the dashboard" wait_for 5 on_screen "Lesson gradient-descent done: 6 expectations held, 0 failed"

# ---- Chinese, --big -----------------------------------------------------------------
start zh 100 36 init --lang zh --big
check "the Chinese title is in the caption panel" wait_for 20 on_screen "初始化：对称性与权重的尺度"
check "--big has no confusion matrix or event log" bash -c "! tmux -S '$sock' -f /dev/null capture-pane -p -t e2e:zh | grep -q -- '─ events'"
# Every caption line fits the width: 2 cells per CJK character.
fits() {
	screen | python3 -c '
import sys, unicodedata
ok = True
for line in sys.stdin.read().splitlines():
    w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
    ok &= w <= 100
sys.exit(0 if ok else 1)'
}
check "wide characters wrap within 100 columns" fits
check "the caption wraps onto a second line" bash -c "tmux -S '$sock' -f /dev/null capture-pane -p -t e2e:zh | grep -q '一个'"
T send-keys -t "$pane" q
check "q quits the Chinese lesson" wait_for 10 exited zh

# ---- --auto on the dashboard: runs to the end and leaves --------------------------------
start auto 100 36 backprop-step --auto
check "--auto finishes on its own" wait_for 60 exited auto
check "with status 0" [ "$(cat "$tmp/auto.exit" 2>/dev/null)" = 0 ]

report lesson_tui
