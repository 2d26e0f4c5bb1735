#!/usr/bin/env bash
# What the pad's preprocessing costs in accuracy, with a trained lenet:
#
#  - round trip: the 2,000 test digits of data/mnist-small, each enlarged to
#    the pad's 280x280 canvas and brought back by the pad's preprocessing,
#    must be classified within 1 percentage point of the digits as they are
#    (nnlab eval);
#  - drawn digits: the 200 drawings of tests/data/digits.strokes, classified
#    by nnlab predict --strokes, must reach 90%.
#
# usage: accuracy.sh NNLAB ROUNDTRIP SOURCE_ROOT [MODEL.nnl]
# Trains lenet (preset recipe, seed 1) unless a model file is given; the
# figures are printed whatever the outcome.
set -uo pipefail

nnlab=$1
roundtrip=$2
root=$3
model=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

if [[ -z $model ]]; then
	model=$tmp/lenet.nnl
	echo "training lenet (preset recipe, seed 1)..."
	if ! "$nnlab" train --model lenet --no-tui --no-gui --seed 1 --save "$model" >"$tmp/train.out" 2>&1; then
		cat "$tmp/train.out"
		echo "FAIL: training lenet"
		exit 1
	fi
	tail -2 "$tmp/train.out"
fi

# --- round trip --------------------------------------------------------------------
"$nnlab" eval "$model" --data "$root/data/mnist-small" --json >"$tmp/eval.json" || fail "nnlab eval"
"$roundtrip" "$model" "$root/data/mnist-small" tent >"$tmp/roundtrip.json" || fail "roundtrip"
python3 - "$tmp/eval.json" "$tmp/roundtrip.json" <<'PY' || fail "round trip within 1 percentage point"
import json, sys
ev = json.load(open(sys.argv[1]))
rt = json.load(open(sys.argv[2]))
assert abs(ev["accuracy"] - rt["direct_accuracy"]) < 1e-9, (ev["accuracy"], rt["direct_accuracy"])
print("round trip over %d test digits: direct %.2f%%, through the pad's preprocessing %.2f%% "
      "(%+.2f points; %.1f%% get the same label both ways)"
      % (rt["count"], 100 * ev["accuracy"], 100 * rt["pad_accuracy"], rt["difference_pp"], 100 * rt["agreement"]))
assert abs(rt["difference_pp"]) <= 1.0, rt
PY

# --- drawn digits --------------------------------------------------------------------
strokes=$root/tests/data/digits.strokes
"$nnlab" predict "$model" --strokes "$strokes" --json >"$tmp/strokes.json" || fail "predict --strokes"
python3 - "$strokes" "$tmp/strokes.json" <<'PY' || fail "drawn digits at 90% or better"
import collections, json, re, sys
labels = [int(d) for d in re.findall(r"^# digit (\d)", open(sys.argv[1]).read(), re.M)]
pred = json.load(open(sys.argv[2]))
assert len(pred) == len(labels) >= 100, (len(pred), len(labels))
assert set(labels) == set(range(10))
right = sum(p["label"] == l for p, l in zip(pred, labels))
per = collections.Counter(l for p, l in zip(pred, labels) if p["label"] == l)
total = collections.Counter(labels)
print("drawn digits: %d of %d right (%.1f%%); per digit: %s" % (right, len(labels), 100 * right / len(labels),
      " ".join("%d:%d/%d" % (d, per[d], total[d]) for d in range(10))))
wrong = collections.Counter((l, p["label"]) for p, l in zip(pred, labels) if p["label"] != l)
if wrong:
    print("mistakes (true->predicted): " + ", ".join("%d->%s x%d" % (a, b, n) for (a, b), n in wrong.most_common()))
assert right >= 0.9 * len(labels)
PY

((failures == 0))
