#!/usr/bin/env bash
# Two threads against one: an mlp with a 1024-wide hidden layer trained at
# batch 256 (the model where a second core has the most to give), measured
# with `nnlab bench` at --threads 1 and --threads 2 in alternation. Prints
# each run, the medians and their ratio; the performance goal is 1.6x.
#
# usage: thread_scaling.sh NNLAB [RUNS]
set -euo pipefail

nnlab=$1
runs=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/mlp1024.spec" <<'SPEC'
# mlp with a 1024-wide hidden layer, for the thread-scaling benchmark
input 1x28x28
dense 1024
relu
dense 10
softmax_xent
train optimizer=momentum lr=0.05 momentum=0.9 batch=256
SPEC

rate() {
	"$nnlab" bench --presets "$tmp/mlp1024.spec" --batches 256 --reps 5 --threads "$1" --json |
		python3 -c 'import json, sys; print(round(json.load(sys.stdin)["presets"][0]["training"][0]["samples_per_sec"]))'
}

one=() two=()
for ((i = 1; i <= runs; i++)); do
	one+=("$(rate 1)")
	two+=("$(rate 2)")
	echo "run $i: 1 thread ${one[-1]} samples/s, 2 threads ${two[-1]} samples/s"
done
python3 - "${one[*]}" "${two[*]}" <<'PY'
import statistics, sys
one = [float(x) for x in sys.argv[1].split()]
two = [float(x) for x in sys.argv[2].split()]
m1, m2 = statistics.median(one), statistics.median(two)
print(f"median: 1 thread {m1:.0f}, 2 threads {m2:.0f} samples/s; 2 threads / 1 thread = {m2 / m1:.2f} (goal 1.6)")
PY
