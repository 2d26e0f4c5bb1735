#!/usr/bin/env bash
# Every lesson in assets/lessons, unattended (--auto --no-tui --no-gui):
# each must end with all its expectations held and exit 0, and print the
# figures its captions promise (a DIVERGED run, identical hidden units, a
# train/test gap that shrinks...).  Also the list, the Chinese captions,
# and the exit codes of a lesson that fails and of a bad lesson file.
#
# usage: lessons.sh NNLAB SOURCE_ROOT
set -uo pipefail

nnlab=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# The list names every lesson with its title.
"$nnlab" lesson >"$tmp/list" 2>&1 || fail "nnlab lesson exited $?"
for f in "$root"/assets/lessons/*.lesson; do
	expect_in "$tmp/list" "$(basename "$f" .lesson)"
done
expect_in "$tmp/list" "Gradient descent: the learning rate"
LANG=zh_CN.UTF-8 "$nnlab" lesson >"$tmp/list-zh" 2>&1
expect_in "$tmp/list-zh" "梯度下降：学习率"

start=$(date +%s)
for f in "$root"/assets/lessons/*.lesson; do
	name=$(basename "$f" .lesson)
	t0=$(date +%s.%N)
	checks=$((checks + 1))
	if ! "$nnlab" lesson "$name" --auto --no-tui --no-gui >"$tmp/$name.out" 2>"$tmp/$name.err"; then
		fail "lesson $name exited $?:"
		grep -E "FAILED|nnlab:" "$tmp/$name.out" "$tmp/$name.err" | head -20
		continue
	fi
	expect_in "$tmp/$name.out" "Lesson $name done:"
	expect_in "$tmp/$name.out" ", 0 failed"
	printf '%-18s %5.1fs  %s\n' "$name" "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }')" \
		"$(grep -o '[0-9]* expectations\? held' "$tmp/$name.out")"
done

# What the issue asks each lesson to really show.
expect_in "$tmp/gradient-descent.out" "ok     diverged: DIVERGED at step"
expect_in "$tmp/init.out" "ok     identical-hidden-units layer 1: dense1.weight: 64 units"
expect_in "$tmp/overfitting.out" "ok     gap > 5"
expect_in "$tmp/overfitting.out" "ok     gap shrinks"
expect_in "$tmp/compression.out" "ok     accuracy-drop < 2: quantize"
expect_in "$tmp/backprop-step.out" "batch 10: loss"
grep -q "model lenet" "$tmp/cnn-vs-mlp.out" || fail "cnn-vs-mlp never switched to lenet"

# --json: one object on stdout with every expectation and its figure.
"$nnlab" lesson gradient-descent --auto --no-tui --no-gui --json >"$tmp/gd.json" 2>"$tmp/gd.err" ||
	fail "--json exited $?"
checks=$((checks + 1))
python3 - "$tmp/gd.json" <<'PY' || fail "gradient-descent --json is not what it should be: $(head -c 300 "$tmp/gd.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["lesson"] == "gradient-descent" and d["steps"] == 4 and d["failed"] == 0, d
e = d["expectations"]
assert len(e) == d["passed"] == 6, e
assert any(x["expect"] == "diverged" and x["ok"] and x["value"] > 20 for x in e), e
assert any(x["expect"] == "accuracy >= 80" and x["value"] >= 80 for x in e), e
PY
expect_in "$tmp/gd.err" "[1/4] The linear model"

# Captions in Chinese, from --lang and from the locale.
"$nnlab" lesson backprop-step --auto --no-tui --no-gui --lang zh >"$tmp/zh.out" 2>&1 || fail "--lang zh exited $?"
expect_in "$tmp/zh.out" "一个小网络"
LC_ALL=zh_CN.UTF-8 "$nnlab" lesson backprop-step --auto --no-tui --no-gui >"$tmp/zh2.out" 2>&1
expect_in "$tmp/zh2.out" "一个小网络"

# A lesson whose expectation does not hold exits 1 and says which.
cat >"$tmp/fails.lesson" <<'LESSON'
title en A lesson that expects too much
model linear
train-limit 500
test-limit 200
option optimizer=sgd lr=0.1 epochs=1
step
caption en One epoch on 500 digits will not reach 99%.
train epochs 1
expect accuracy >= 99
LESSON
checks=$((checks + 1))
"$nnlab" lesson "$tmp/fails.lesson" --auto --no-tui --no-gui >"$tmp/fails.out" 2>"$tmp/fails.err"
[[ $? == 1 ]] || fail "a failing lesson did not exit 1"
expect_in "$tmp/fails.out" "FAILED accuracy >= 99"
expect_in "$tmp/fails.err" "1 expectation did not hold"

# A bad lesson file exits 2 with file:line:col.
printf 'title en Bad\nmodel linear\nstep\ncaption en x\ntrain epochz 2\n' >"$tmp/bad.lesson"
checks=$((checks + 1))
"$nnlab" lesson "$tmp/bad.lesson" --auto --no-tui --no-gui >"$tmp/bad.out" 2>"$tmp/bad.err"
[[ $? == 2 ]] || fail "a bad lesson did not exit 2"
expect_in "$tmp/bad.err" "bad.lesson:5:7: expected 'epochs N' or 'steps N' after train"
checks=$((checks + 1))
"$nnlab" lesson no-such-lesson --no-tui >"$tmp/none.out" 2>"$tmp/none.err"
[[ $? == 2 ]] || fail "an unknown lesson did not exit 2"
expect_in "$tmp/none.err" "no lesson 'no-such-lesson'"

echo "lessons: $checks checks, $failures failures, $(($(date +%s) - start))s"
[[ $failures == 0 ]]
