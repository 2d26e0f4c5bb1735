#!/usr/bin/env bash
# End-to-end checks of the training dashboard in a real terminal (tmux):
# it comes up, pauses and stays paused, steps one batch, doubles the
# learning rate, keeps its layout through resizes (and says when the
# terminal is too small), shows the graph view with gradient norms that
# follow single steps, quits with status 0 and leaves the terminal as it
# found it; Ctrl-C saves with --save and exits 130; Ctrl-Z suspends and
# resumes; SIGTERM and a crash both restore the terminal.
#
# usage: dash.sh NNLAB SOURCE_ROOT
# Exits 77 (skipped) only when tmux is not installed.
set -uo pipefail

nnlab=$1
root=$2
source "$(dirname "${BASH_SOURCE[0]}")/tmux_harness.sh"

row() { screen | sed -n "$1p"; }
header_step() { row 1 | grep -o 'step [0-9]*' | head -1 | cut -d' ' -f2; }
header_lr() { row 2 | grep -o '^ lr [^ ]*' | cut -d' ' -f3; }
app_pid() { pgrep -P "$(T display -p -t "$pane" '#{pane_pid}')" -f nnlab | head -1; }
on_row() { row "$1" | grep -qF -- "$2"; }
step_is() { [[ $(header_step) == "$1" ]]; }

# start NAME COLS ROWS ARGS...: run nnlab in a new tmux window with a
# UTF-8 locale, recording the terminal modes before and after and the
# exit status.
start() {
	local name=$1 cols=$2 rows=$3
	shift 3
	cat >"$tmp/$name.sh" <<-EOF
		ulimit -c 0
		stty -g >"$tmp/$name.stty-before"
		"$nnlab" train --data "$root/data/mnist-small" $*
		echo \$? >"$tmp/$name.exit"
		stty -g >"$tmp/$name.stty-after"
		sleep 600
	EOF
	open_window "$name" "$cols" "$rows"
}

terminal_restored() { # the pane left the alternate screen and the modes are back
	[[ $(T display -p -t "$pane" '#{alternate_on}') == 0 ]] &&
		[[ $(T display -p -t "$pane" '#{cursor_flag}') == 1 ]] &&
		cmp -s "$tmp/$1.stty-before" "$tmp/$1.stty-after"
}

# layout_holds COLS ROWS: every panel where it belongs at this size.
layout_holds() {
	local cols=$1 rows=$2 s
	s=$(screen)
	[[ $(wc -l <<<"$s") -eq $rows ]] || return 1
	sed -n 1p <<<"$s" | grep -q 'nnlab.*epoch.*step.*PAUSED *$' || return 1
	sed -n 2p <<<"$s" | grep -q '^ lr ' || return 1
	sed -n 3p <<<"$s" | grep -q 'lr.*momentum.*batch' || return 1
	sed -n 4p <<<"$s" | grep -q -- '─ loss .*─ confusion' || return 1
	grep -q -- '─ accuracy' <<<"$s" || return 1
	grep -q -- '─ events' <<<"$s" || return 1
	grep -q -- '─ layers .*gradient norm.*weight norm.*update/weight' <<<"$s" || return 1
	grep -q 'dense1.weight' <<<"$s" || return 1
	sed -n "${rows}p" <<<"$s" | grep -q 'space pause.*q quit' || return 1
	# the state badge sits at the right edge of the first row
	local first
	first=$(sed -n 1p <<<"$s")
	[[ ${#first} -ge $((cols - 1)) ]] || return 1
	! grep -q 'too small' <<<"$s"
}

# --- the main scenario: pause, step, learning rate, resizes, quit ------------------
start main 80 24 --model mlp --epochs 1000 --seed 3
check "dashboard comes up running" wait_for 30 on_row 1 RUNNING
check "first epoch finishes" wait_for 60 on_screen "epoch 1:"
T send-keys -t "$pane" Space
check "space pauses" wait_for 2 on_row 1 PAUSED
frozen=$(header_step)
sleep 2
check "the step counter stays frozen for 2 s (step $frozen)" step_is "$frozen"
T send-keys -t "$pane" n
check "n trains exactly one batch ($frozen -> $((frozen + 1)))" wait_for 2 step_is $((frozen + 1))
sleep 0.5
check "and only one" step_is $((frozen + 1))
lr=$(header_lr)
doubled=$(python3 -c "import sys; print('%g' % (2 * float(sys.argv[1])))" "$lr")
T send-keys -t "$pane" +
check "+ doubles the learning rate in the header ($lr -> $doubled)" wait_for 2 on_row 2 " lr $doubled "
check "the change is logged" wait_for 2 on_screen "lr $lr -> $doubled"
check "80x24 layout" layout_holds 80 24
T resize-window -t "$pane" -x 200 -y 60
check "200x60 layout" wait_for 3 layout_holds 200 60
T resize-window -t "$pane" -x 80 -y 24
check "back to 80x24" wait_for 3 layout_holds 80 24
T resize-window -t "$pane" -x 60 -y 20
check "60x20 says the terminal is too small" wait_for 3 on_screen "Terminal too small: 60x20"
T resize-window -t "$pane" -x 80 -y 24
check "80x24 again after too small" wait_for 3 layout_holds 80 24
T send-keys -t "$pane" '?'
check "? opens the help" wait_for 2 on_screen "this help (any key closes it)"
T send-keys -t "$pane" Escape
check "a key closes it" wait_for 2 eval '! on_screen "this help"'
check "still paused at the same step" step_is $((frozen + 1))

# the graph view: every node, and gradient norms that follow single steps
node_line() { # node_line NAME OP: the node's line in the graph view
	screen | grep -E "─ $1 +$2 " | head -1
}
grad_of() { node_line "$1" "$2" | grep -oE '[0-9]\.[0-9]e[-+][0-9]{2}' | head -1; }
T send-keys -t "$pane" G
check "G opens the graph view" wait_for 2 on_row 4 "─ graph"
check "with the batch as N in the shapes" eval 'node_line input input | grep -q "N×1×28×28"'
check "and every node of mlp" eval '[[ $(screen | grep -cE "─ (target|input|dense1|dense1.add|relu1|dense2|dense2.add|loss) ") -eq 8 ]]'
check "dense1 with its shape and parameters" eval 'node_line dense1 matmul | grep -q "N×128 *100,352"'
check "the norms of the single step already taken" on_row 4 "gradient norms after step $((frozen + 1)) "
check "a gradient norm on dense1" eval '[[ -n $(grad_of dense1 matmul) ]]'
check "the loss's own gradient is 1" eval '[[ $(grad_of loss softmax_xent) == 1.0e+00 ]]'
check "the input has none" eval 'node_line input input | grep -qE "N×1×28×28 +- *$"'
# every norm on the view, shown to two digits: one more batch changes some
all_norms() { screen | grep -E "─ [a-z0-9.]+ " | grep -oE '[0-9]\.[0-9]e[-+][0-9]{2}' | tr '\n' ' '; }
before=$(all_norms)
T send-keys -t "$pane" n
check "n steps once more, and the norms follow" wait_for 3 on_row 4 "gradient norms after step $((frozen + 2)) "
check "the norms changed (were: $before)" eval '[[ -n $(grad_of relu1 relu) && $(all_norms) != "$before" ]]'
check "the key line offers G" on_row 24 "G graph"
T send-keys -t "$pane" '?'
check "the help names G" wait_for 2 on_screen "G        graph view"
T send-keys -t "$pane" Escape
T send-keys -t "$pane" G
check "G again closes it" wait_for 3 layout_holds 80 24
frozen=$((frozen + 1))
T send-keys -t "$pane" q
check "q quits" wait_for 10 exited main
check "exit status 0" [ "$(cat "$tmp/main.exit" 2>/dev/null)" = 0 ]
check "terminal restored after q" terminal_restored main
check "the run's summary stays on the screen" on_screen "Stopped at epoch"

# --- divergence: DIVERGED names the tensor, b restores ------------------------------------
# A linear model with a squared error blows up geometrically at this rate.
printf 'input 1x28x28\ndense 10\nmse\n' >"$tmp/blowup.spec"
start diverge 80 24 --model "$tmp/blowup.spec" --optimizer sgd --lr 10 --epochs 1000
check "a NaN pauses as DIVERGED" wait_for 30 on_row 1 DIVERGED
check "naming the tensor that went bad" eval 'row 24 | grep -Eq "DIVERGED: (loss|dense1.weight|dense1.bias) is NaN/Inf at step [0-9]+"'
check "and offering the last good weights" on_row 24 "b restores step 0"
T send-keys -t "$pane" b
check "b restores them" wait_for 3 on_row 1 PAUSED
check "and logs it" wait_for 2 on_screen "restored the weights"
T send-keys -t "$pane" = C-u 0.001 Enter
check "= sets an exact learning rate" wait_for 3 on_row 2 " lr 0.001 "
T send-keys -t "$pane" Space
check "training goes on from the restored weights" wait_for 5 on_row 1 RUNNING
T send-keys -t "$pane" q
check "q quits after a divergence" wait_for 10 exited diverge

# --- too small from the start still obeys q ------------------------------------------
start small 60 20 --model linear --epochs 1000
check "too small from the start" wait_for 30 on_screen "needs 80x24"
T send-keys -t "$pane" q
check "q quits the too-small screen" wait_for 10 exited small
check "exit status 0 there too" [ "$(cat "$tmp/small.exit" 2>/dev/null)" = 0 ]

# --- Ctrl-C with --save ---------------------------------------------------------------
start interrupt 80 24 --model linear --epochs 1000 --save "$tmp/interrupted.nnl"
check "second dashboard up" wait_for 30 on_row 1 RUNNING
T send-keys -t "$pane" C-c
check "Ctrl-C exits" wait_for 20 exited interrupt
check "with status 130" [ "$(cat "$tmp/interrupt.exit" 2>/dev/null)" = 130 ]
check "having saved the model file" test -s "$tmp/interrupted.nnl"
check "and said so" on_screen "Saved $tmp/interrupted.nnl"
check "terminal restored after Ctrl-C" terminal_restored interrupt

# --- Ctrl-Z and fg in an interactive shell, then SIGTERM --------------------------------
# Stopping needs job control: a shell script's children form an orphaned
# process group, in which SIGTSTP does nothing.
T new-window -d -t e2e -n suspend "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color PS1='$ ' bash --norc --noprofile -i"
pane=e2e:suspend
T resize-window -t "$pane" -x 80 -y 24
T send-keys -t "$pane" "ulimit -c 0; stty -g >$tmp/suspend.stty-before" Enter
T send-keys -t "$pane" "$nnlab train --data $root/data/mnist-small --model linear --epochs 1000" Enter
check "third dashboard up" wait_for 30 on_row 1 RUNNING
T send-keys -t "$pane" C-z
check "Ctrl-Z leaves the alternate screen" wait_for 5 eval '[[ $(T display -p -t "$pane" "#{alternate_on}") == 0 ]]'
check "and stops the process" wait_for 5 eval '[[ $(ps -o stat= -p "$(app_pid)") == T* ]]'
T send-keys -t "$pane" fg Enter
check "fg brings the dashboard back" wait_for 5 on_row 1 RUNNING
check "in the alternate screen" [ "$(T display -p -t "$pane" '#{alternate_on}')" = 1 ]
kill -TERM "$(app_pid)"
check "SIGTERM ends it" wait_for 10 eval '[[ -z $(app_pid) ]]'
T send-keys -t "$pane" "echo \$? >$tmp/suspend.exit; stty -g >$tmp/suspend.stty-after" Enter
check "as SIGTERM (status 143)" wait_for 5 eval '[ "$(cat "$tmp/suspend.exit" 2>/dev/null)" = 143 ]'
check "terminal restored after SIGTERM" terminal_restored suspend

# --- a crash ------------------------------------------------------------------------------
start crash 80 24 --model linear --epochs 1000
check "fourth dashboard up" wait_for 30 on_row 1 RUNNING
kill -SEGV "$(app_pid)"
check "SIGSEGV ends it" wait_for 10 exited crash
check "as SIGSEGV (status 139)" [ "$(cat "$tmp/crash.exit" 2>/dev/null)" = 139 ]
check "terminal restored after the crash" terminal_restored crash

report dash
