#!/usr/bin/env bash
# End-to-end checks of the drawing pad under Xvfb: nnlab train opens the pad
# next to training; a digit dragged with the mouse (xdotool) gets a
# prediction in the --events log, and new weight snapshots re-classify it;
# the bars come up within the latency budget; a screenshot of the pad
# mid-training shows the drawing; c clears to "no prediction"; space
# pauses training from the window; q ends the run with status 0 and --save
# writes the model. Then nnlab draw on that model classifies a drawn "1"
# and q ends it; a vae in training shows the latent explorer, which
# decodes the code under the pointer; and without a display, draw says so.
#
# usage: pad.sh NNLAB SOURCE_ROOT [SCREENSHOT.png]
# Exits 77 (skipped) only when Xvfb, xdotool or ImageMagick's import is
# missing (script/bootstrap installs them).
set -uo pipefail

nnlab=$1
root=$2
keep_shot=${3:-}
for tool in Xvfb xdotool import; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (script/bootstrap installs xvfb, xdotool and imagemagick); the pad test needs a virtual display to draw on"
		exit 77
	fi
done

tmp=$(mktemp -d)
xvfb_pid=
app_pid=
cleanup() {
	[[ -n $app_pid ]] && kill "$app_pid" 2>/dev/null
	[[ -n $xvfb_pid ]] && kill "$xvfb_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# A display of our own: Xvfb picks a free number and writes it to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb_pid=$!
if ! wait_for 10 test -s "$tmp/display"; then
	echo "FAIL: Xvfb did not start:"
	cat "$tmp/xvfb.log"
	exit 1
fi
export DISPLAY=:$(head -1 "$tmp/display")
unset WAYLAND_DISPLAY

window=
find_window() { window=$(xdotool search --name "$1" 2>/dev/null | head -1) && [[ -n $window ]]; }

# drag X,Y X,Y ...: press the left button at the first point (fractions of
# the pad's canvas), move through the rest, release. The canvas sits at
# (20,56) and is 560 px square in a 1040x640 window.
drag() {
	local first=1 x y
	for point in "$@"; do
		x=$(awk -v f="${point%,*}" 'BEGIN { printf "%d", 20 + 560 * f }')
		y=$(awk -v f="${point#*,}" 'BEGIN { printf "%d", 56 + 560 * f }')
		xdotool mousemove --window "$window" "$x" "$y"
		if ((first)); then
			xdotool mousedown 1
			first=0
		fi
		sleep 0.02
	done
	xdotool mouseup 1
}

count() { grep -c "$1" "$2" 2>/dev/null || true; }
last() { grep "$1" "$2" | tail -1; }
json_field() { # json_field LINE KEY
	python3 -c 'import json, sys; v = json.loads(sys.argv[1]).get(sys.argv[2]); print("null" if v is None else v)' "$1" "$2"
}

# --- training with the pad ------------------------------------------------------
events=$tmp/train.jsonl
"$nnlab" train --no-tui --model mlp --epochs 400 --save "$tmp/model.nnl" --events "$events" \
	>"$tmp/train.out" 2>"$tmp/train.err" &
app_pid=$!
check "train opens the pad when a display is available" wait_for 20 grep -qs '"event":"ready"' "$events"
check "its window is there" find_window "nnlab pad"
check "training is under way" wait_for 20 grep -q "^epoch  *2/" "$tmp/train.out"

# A seven: the bar and the stem.
drag 0.2,0.2 0.35,0.19 0.5,0.18 0.65,0.18 0.8,0.17 0.7,0.35 0.6,0.52 0.52,0.7 0.46,0.86
check "the drawing is classified" wait_for 5 grep -q '"cause":"stroke","label":[0-9]' "$events"
stroke=$(last '"cause":"stroke"' "$events")
python3 - "$stroke" <<'PY' || fail "a stroke prediction has ten probabilities summing to 1, a step and a latency"
import json, sys
e = json.loads(sys.argv[1])
assert 0 <= e["label"] <= 9, e
assert len(e["probs"]) == 10 and abs(sum(e["probs"]) - 1) < 1e-3, e
assert e["probs"][e["label"]] == max(e["probs"]), e
assert e["state"] == "RUNNING" and e["step"] > 0, e
assert e["latency_ms"] >= 0, e
PY
checks=$((checks + 1))
echo "prediction after drawing a seven: label $(json_field "$stroke" label), latency $(json_field "$stroke" latency_ms) ms (classify $(json_field "$stroke" classify_ms) ms, draw $(json_field "$stroke" render_ms) ms)"

# New weight snapshots re-classify the same drawing while it trains.
weights_before=$(count '"cause":"weights"' "$events")
check "new weights re-classify the drawing" wait_for 10 \
	bash -c "(( \$(grep -c '\"cause\":\"weights\"' '$events') > $weights_before + 3 ))"
check "the network learns to call it a 7" wait_for 60 \
	bash -c "grep '\"cause\":\"weights\"' '$events' | tail -1 | grep -q '\"label\":7'"

# A screenshot of the pad mid-training.
import -window root "$tmp/shot.png" 2>/dev/null
check "a screenshot was taken" test -s "$tmp/shot.png"
pos=$(xdotool getwindowgeometry "$window" | awk '/Position/ { print $2 }')
size=$(xdotool getwindowgeometry "$window" | awk '/Geometry/ { print $2 }')
convert "$tmp/shot.png" -crop "${size}+${pos%,*}+${pos#*,}" +repage "$tmp/pad.png" 2>/dev/null
# Ink shows on the canvas: the bright pixels of the seven's stem.
bright=$(convert "$tmp/pad.png" -crop 560x560+20+56 +repage -threshold 90% -format '%[fx:mean]' info: 2>/dev/null || echo 0)
check "the screenshot shows the drawing (bright fraction $bright)" \
	python3 -c "import sys; sys.exit(0 if 0.02 < $bright < 0.5 else 1)"
if [[ -n $keep_shot ]]; then
	cp "$tmp/pad.png" "$keep_shot" && echo "screenshot kept in $keep_shot"
fi

# c clears: a blank canvas is not classified.
xdotool key --window "$window" c
check "c clears to no prediction" wait_for 5 \
	bash -c "grep '\"cause\":\"stroke\"' '$events' | tail -1 | grep -q '\"label\":null'"

# space pauses training from the window.
xdotool key --window "$window" space
check "space is handled by the pad" wait_for 5 grep -q '"key":"space"' "$events"
sleep 0.5 # the command applies before the next batch; the pad reads the state every 0.1 s
drag 0.5,0.15 0.5,0.85
check "paused: the next prediction says so" wait_for 5 \
	bash -c "grep '\"cause\":\"stroke\"' '$events' | tail -1 | grep -q '\"state\":\"PAUSED\"'"

# Latency over every drawing change of the run.
python3 - "$events" <<'PY' || fail "latency figures"
import json, sys
lat = sorted(e["latency_ms"] for e in map(json.loads, open(sys.argv[1])) if e.get("latency_ms") is not None)
assert lat, "no timed drawing changes"
print("latency over %d drawing changes: median %.1f ms, max %.1f ms" % (len(lat), lat[len(lat) // 2], lat[-1]))
PY
checks=$((checks + 1))

xdotool key --window "$window" q 2>/dev/null
check "q ends training" wait_for 20 bash -c "! kill -0 $app_pid 2>/dev/null"
wait "$app_pid"
status=$?
app_pid=
check "with status 0 (was $status)" test "$status" = 0
check "and --save wrote the model" test -s "$tmp/model.nnl"
check "the latency summary is logged" grep -q '"event":"latency"' "$events"
if ((failures)); then
	echo "--- train stdout ---"; tail -5 "$tmp/train.out"
	echo "--- train stderr ---"; cat "$tmp/train.err"
fi

# --- the pad alone on the saved model -------------------------------------------------
events=$tmp/draw.jsonl
"$nnlab" draw "$tmp/model.nnl" --events "$events" >"$tmp/draw.out" 2>&1 &
app_pid=$!
check "draw opens the pad" wait_for 20 grep -qs '"event":"ready"' "$events"
check "its window is there" find_window "nnlab pad"
drag 0.52,0.12 0.51,0.3 0.5,0.5 0.49,0.7 0.48,0.88
check "a drawn 1 is classified as 1" wait_for 5 \
	bash -c "grep '\"cause\":\"stroke\"' '$events' | tail -1 | grep -q '\"label\":1'"
check "a saved model gets no weight updates" test "$(count '"cause":"weights"' "$events")" = 0
xdotool key --window "$window" q 2>/dev/null
check "q ends draw" wait_for 10 bash -c "! kill -0 $app_pid 2>/dev/null"
wait "$app_pid"
status=$?
app_pid=
check "with status 0 (was $status)" test "$status" = 0
if ((failures)); then
	echo "--- draw output ---"; cat "$tmp/draw.out"
fi

# --- the latent explorer of a vae, while it trains ------------------------------------
events=$tmp/vae.jsonl
"$nnlab" train --no-tui --model vae --epochs 1 --events "$events" >"$tmp/vae.out" 2>&1 &
app_pid=$!
check "a vae opens the latent explorer" wait_for 30 grep -qs '"event":"ready"' "$events"
find_window "nnlab pad"
latent_count() { grep -c '"event":"latent","time":[0-9.]*,"z":\[' "$events" 2>/dev/null || true; }
xdotool mousemove --window "$window" 160 200
check "pointing at the plane decodes a code" wait_for 5 bash -c "grep -q '\"z\":\[' '$events'"
sleep 0.3
before=$(latent_count)
xdotool mousemove --window "$window" 440 480
check "moving decodes again" wait_for 5 bash -c "(( \$(grep -c '\"z\":\[' '$events') > $before ))"
python3 - "$events" <<'PY' || fail "the code under the pointer: z1 grows to the right, z2 upwards"
import json, sys
z = [e["z"] for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "latent" and e.get("z")]
a, b = z[-2], z[-1]  # (160,200) then (440,480): right and down
assert b[0] > a[0] and b[1] < a[1], (a, b)
print("latent codes at two points: %s then %s" % (a, b))
PY
checks=$((checks + 1))
xdotool key --window "$window" q 2>/dev/null
check "q ends it" wait_for 20 bash -c "! kill -0 $app_pid 2>/dev/null"
wait "$app_pid"
app_pid=

# --- no display -----------------------------------------------------------------------
DISPLAY= "$nnlab" draw "$tmp/model.nnl" >"$tmp/out" 2>"$tmp/err"
status=$?
check "draw without a display exits 1 (was $status)" test "$status" = 1
check "and says why" grep -q "no display" "$tmp/err"
DISPLAY= "$nnlab" train --no-tui --model linear --epochs 1 >"$tmp/out" 2>"$tmp/err"
status=$?
check "train without a display trains headless (status $status)" test "$status" = 0
check "and prints its epoch line" grep -q "epoch 1/1" "$tmp/out"

echo "$((checks - failures)) of $checks checks passed"
((failures == 0))
