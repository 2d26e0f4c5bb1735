#!/usr/bin/env bash
# End-to-end checks of nnlab predict: test digits written as image files
# (PGM, PNG, dark-on-light JPEG, RGBA with a transparent background, and
# enlarged) are classified as the model classifies the digits themselves;
# --json has one object per input in order, with label null for a blank
# image; strokes files work and their errors name line and column; images
# larger than 8192 px a side are refused before decoding; bad usage and bad
# files exit 2 with nothing on stdout.
#
# usage: predict.sh NNLAB SOURCE_ROOT
set -uo pipefail

nnlab=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# A model to predict with: mlp for 3 epochs (a few seconds).
"$nnlab" train --model mlp --epochs 3 --no-tui --no-gui --seed 1 --save "$tmp/mlp.nnl" \
	--data "$root/data/mnist-small" >/dev/null 2>&1 || { echo "FAIL: training a model"; exit 1; }

# Test digits 0-9 (the first of each class) as 28x28 PGM files, and the
# labels the model gives them as they are (white on black, as MNIST).
python3 - "$root/data/mnist-small" "$tmp" <<'PY' || { echo "FAIL: writing test images"; exit 1; }
import gzip, struct, sys
root, out = sys.argv[1], sys.argv[2]
images = gzip.open(root + "/t10k-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(root + "/t10k-labels-idx1-ubyte.gz").read()[8:]
seen = {}
for i, label in enumerate(labels):
    if label not in seen:
        seen[label] = i
for label, i in sorted(seen.items()):
    with open("%s/digit%d.pgm" % (out, label), "wb") as f:
        f.write(b"P5\n28 28\n255\n" + images[i * 784:(i + 1) * 784])
with open(out + "/blank.pgm", "wb") as f:
    f.write(b"P5\n40 30\n255\n" + bytes([200] * 1200))
with open(out + "/huge.pgm", "wb") as f:
    f.write(b"P5\n9000 9000\n255\n" + bytes(100))
PY
files=()
for d in 0 1 2 3 4 5 6 7 8 9; do files+=("$tmp/digit$d.pgm"); done

expect_exit 0 "$nnlab" predict "$tmp/mlp.nnl" "${files[@]}" --json
cp "$tmp/out" "$tmp/plain.json"
python3 - "$tmp/plain.json" <<'PY' || fail "--json: one object per image, in order, label and ten probabilities"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 10
for i, o in enumerate(r):
    assert o["input"].endswith("digit%d.pgm" % i), o
    assert len(o["probs"]) == 10 and abs(sum(o["probs"]) - 1) < 1e-4, o
    assert o["probs"][o["label"]] == max(o["probs"]), o
right = sum(o["label"] == i for i, o in enumerate(r))
assert right >= 8, right
PY
checks=$((checks + 1))

# The same digits as PNG, enlarged to 280x280, dark ink on light JPEG, and
# black ink on a transparent background: the same labels.
for d in 0 1 2 3 4 5 6 7 8 9; do
	convert "$tmp/digit$d.pgm" "$tmp/digit$d.png"
	convert "$tmp/digit$d.pgm" -filter Triangle -resize 280x280 "$tmp/big$d.png"
	convert "$tmp/digit$d.pgm" -filter Triangle -resize 112x112 -negate -quality 95 "$tmp/paper$d.jpg"
	convert "$tmp/digit$d.pgm" -filter Triangle -resize 84x84 -alpha copy -fill black -colorize 100 "$tmp/alpha$d.png"
done 2>/dev/null
if command -v convert >/dev/null 2>&1; then
	for kind in digit big paper alpha; do
		ext=png
		[[ $kind == paper ]] && ext=jpg
		list=()
		for d in 0 1 2 3 4 5 6 7 8 9; do list+=("$tmp/$kind$d.$ext"); done
		expect_exit 0 "$nnlab" predict "$tmp/mlp.nnl" "${list[@]}" --json
		python3 - "$tmp/plain.json" "$tmp/out" "$kind" <<'PY' || fail "$kind images get the labels of the digits themselves"
import json, sys
a, b, kind = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
same = sum(x["label"] == y["label"] for x, y in zip(a, b))
assert same >= 9, (kind, [x["label"] for x in a], [y["label"] for y in b])
if kind == "paper":
    assert all(y["inverted"] for y in b), b
PY
		checks=$((checks + 1))
	done
else
	echo "(ImageMagick's convert is missing: PNG, JPEG and transparency are not checked)"
fi

# A blank image is not classified; the text output says so.
expect_exit 0 "$nnlab" predict "$tmp/mlp.nnl" "$tmp/blank.pgm" "$tmp/digit7.pgm" --json
python3 - "$tmp/out" <<'PY' || fail "a blank image has label null"
import json, sys
r = json.load(open(sys.argv[1]))
assert r[0]["label"] is None and r[0]["probs"] is None and r[1]["label"] is not None, r
PY
checks=$((checks + 1))
expect_exit 0 "$nnlab" predict "$tmp/mlp.nnl" "$tmp/blank.pgm" && check "text output says blank" grep -q "blank (no ink)" "$tmp/out"

# Strokes.
printf '# a one\n0.5,0.1 0.5,0.9\n=\n=\n0.2,0.2 0.8,0.2 0.45,0.9\n' >"$tmp/two.strokes"
expect_exit 0 "$nnlab" predict "$tmp/mlp.nnl" --strokes "$tmp/two.strokes" --json
python3 - "$tmp/out" <<'PY' || fail "strokes: three drawings, the second blank, with their lines"
import json, sys
r = json.load(open(sys.argv[1]))
assert [o["input"].rsplit("#", 1)[1] for o in r] == ["1", "2", "3"], r
assert [o["line"] for o in r] == [2, 4, 5], r
assert r[0]["label"] == 1 and r[1]["label"] is None and r[2]["label"] is not None, r
PY
checks=$((checks + 1))
printf '0.5,0.1 0.5,0.9\n0.2,0.2 0.8;0.2\n' >"$tmp/bad.strokes"
expect_exit 2 "$nnlab" predict "$tmp/mlp.nnl" --strokes "$tmp/bad.strokes" --json &&
	check "a bad strokes file names line and column" grep -q "bad.strokes:2:9: expected x,y" "$tmp/err" &&
	check "and prints nothing on stdout" test ! -s "$tmp/out"

# Refusals.
expect_exit 2 "$nnlab" predict "$tmp/mlp.nnl" "$tmp/huge.pgm" &&
	check "a 9000x9000 image is refused before decoding" grep -q "9000x9000; at most 8192x8192" "$tmp/err"
expect_exit 2 "$nnlab" predict "$tmp/mlp.nnl" "$tmp/two.strokes" &&
	check "a file that is no image says so" grep -q "not a readable image" "$tmp/err"
expect_exit 2 "$nnlab" predict "$tmp/nowhere.nnl" "$tmp/digit1.pgm" && check "a missing model file is named" grep -q "nowhere.nnl" "$tmp/err"
expect_exit 2 "$nnlab" predict "$tmp/mlp.nnl" && check "no inputs is bad usage" grep -q "give images" "$tmp/err"
expect_exit 2 "$nnlab" predict "$tmp/mlp.nnl" "$tmp/digit1.pgm" --invert maybe && check "--invert takes auto, yes or no" \
	grep -q "not auto, yes or no" "$tmp/err"
expect_exit 0 "$nnlab" predict --help && check "--help has examples" grep -q "Examples:" "$tmp/out"

echo "$((checks - failures)) of $checks checks passed"
((failures == 0))
