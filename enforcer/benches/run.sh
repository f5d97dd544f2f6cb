#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and prints a table. Reproduce with:
#
#   CARGO_TARGET_DIR=/path/to/target enforcer/benches/run.sh            # everything
#   SIZE=1G SMALL=100M REPEAT=3 enforcer/benches/run.sh                 # the defaults
#   LAMBDA_BIN=path/to/bootstrap enforcer/benches/run.sh                # another Lambda binary
#   ONLY=throughput,memory enforcer/benches/run.sh                       # some sections: hotpath,
#                                                               # throughput, mix, memory, size, lambda
#
# Generated CloudTrail trees go to $CARGO_TARGET_DIR/bench-data/ (never into the repository)
# and are reused. Every figure is printed with the load average at the time: numbers taken
# while other work runs on the machine are noisy.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR=never
SIZE="${SIZE:-1G}"
SMALL="${SMALL:-100M}"
MIXSIZE="${MIXSIZE:-200M}"
REPEAT="${REPEAT:-3}"
DATA="$CARGO_TARGET_DIR/bench-data"
RELEASE="$CARGO_TARGET_DIR/release"
LOG="$DATA/run-$(date -u +%Y%m%dT%H%M%SZ).log"
mkdir -p "$DATA"

ONLY="${ONLY:-hotpath,throughput,mix,memory,size,lambda}"
want() { [[ ",$ONLY," == *",$1,"* ]]; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
section() { printf '\n=== %s (load average %s)\n' "$1" "$(load)" | tee -a "$LOG"; }

section "machine"
{
    echo "cores: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -r)"
    echo "rustc: $(rustc --version)"
} | tee -a "$LOG"

section "build (release)"
cargo build --release --locked --bin enforcer --bin enforcer-lambda --example gen-cloudtrail \
    --example lambda-harness 2>&1 | tail -1

tree() { # tree NAME SIZE [generator flags] → path of a generated S3 tree of SIZE JSON bytes
    local dir="$DATA/tree-$1"
    if [ ! -f "$dir/.complete" ]; then
        rm -rf "$dir"
        "$RELEASE/examples/gen-cloudtrail" --out "$dir" --size "$2" "${@:3}" >&2
        touch "$dir/.complete"
    fi
    echo "$dir"
}

if want hotpath; then
    section "hot path: decode + resolve + evaluate one record"
    cargo bench --locked --bench hot_path 2>&1 \
        | grep -E '^(per record|decode|replay fast|one_record/| +time:| +thrpt:)' | tee -a "$LOG"
fi

if want throughput; then
    BIG=$(tree "$SIZE" "$SIZE")
    section "replay throughput vs bare serde_json, $SIZE tree (every corpus record equally likely)"
    cargo bench --locked --bench replay_throughput -- --dir "$BIG" --repeat "$REPEAT" 2>&1 \
        | grep -vE '^\s*(Compiling|Finished|Running)' | tee -a "$LOG"
fi

if want mix; then
    MIX=$(tree "mix25-$MIXSIZE" "$MIXSIZE" --catalogued 0.25)
    section "replay throughput vs bare serde_json, $MIXSIZE tree, 25% catalogued calls"
    cargo bench --locked --bench replay_throughput -- --dir "$MIX" --repeat "$REPEAT" 2>&1 \
        | grep -vE '^\s*(Compiling|Finished|Running)' | tee -a "$LOG"
fi

peak() { # peak TREE THREADS → "max_rss_kB wall_s MB/s"
    local out
    out=$(/usr/bin/time -v "$RELEASE/enforcer" replay --threads "$2" --format json "$1" 2>&1 >"$DATA/peak.json")
    local rss
    rss=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
    echo "$rss $(python3 "$DATA/rate.py" "$DATA/peak.json")"
}

if want memory; then
    cat >"$DATA/rate.py" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("%.2f %.1f %d" % (s["seconds"], s["bytes_decoded"] / 1e6 / s["seconds"], s["bytes_decoded"]))
PY
    # The same pool of 100 resources per kind for both sizes: what grows with the input is the
    # number of records, not the number of resources the model holds.
    MEMSMALL=$(tree "mem-$SMALL" "$SMALL" --resources 100 --seed 3)
    MEMBIG=$(tree "mem-$SIZE" "$SIZE" --resources 100 --seed 3)
    section "peak memory of enforcer replay (/usr/bin/time -v), 100 resources per kind"
    printf '%-10s %-8s %14s %10s %10s %14s  %s\n' tree threads "peak RSS MB" "wall s" "MB/s" "JSON bytes" "load" | tee -a "$LOG"
    for t in "$SMALL:$MEMSMALL" "$SIZE:$MEMBIG"; do
        for threads in 1 2; do
            read -r rss wall rate bytes <<<"$(peak "${t#*:}" "$threads")"
            printf '%-10s %-8s %14.1f %10s %10s %14s  %s\n' "${t%%:*}" "$threads" \
                "$(echo "$rss/1024" | bc -l)" "$wall" "$rate" "$bytes" "$(load)" | tee -a "$LOG"
        done
    done
fi

if want size; then
    section "release binary size"
    size=$(stat -c %s "$RELEASE/enforcer")
    printf 'enforcer (stripped, profile.release): %s bytes = %.2f MB\n' "$size" \
        "$(echo "$size/1000000" | bc -l)" | tee -a "$LOG"
fi

want lambda || { echo; echo "log: $LOG"; exit 0; }
section "Lambda: size, init, per event, peak RSS (in-memory backends, enforce mode)"
LAMBDA_BIN="${LAMBDA_BIN:-$RELEASE/enforcer-lambda}"
size=$(stat -c %s "$LAMBDA_BIN")
printf 'enforcer-lambda (stripped, profile.release): %s bytes = %.2f MB\n' "$size" \
    "$(echo "$size/1000000" | bc -l)" | tee -a "$LOG"
"$RELEASE/examples/lambda-harness" --bin "$LAMBDA_BIN" --runs 20 --events 200 \
    --env ENFORCER_BACKEND=memory --env ENFORCER_MODE=enforce \
    --env "ENFORCER_POLICY_DIR=$PWD/policies" | tee -a "$LOG"
section "Lambda: init and RSS at the first poll with the AWS backends (static keys, closed endpoint)"
"$RELEASE/examples/lambda-harness" --bin "$LAMBDA_BIN" --runs 40 --events 0 \
    --env ENFORCER_MODE=enforce --env "ENFORCER_POLICY_DIR=$PWD/policies" \
    --env AWS_REGION=eu-west-1 --env AWS_ACCESS_KEY_ID=AKIDEXAMPLE --env AWS_SECRET_ACCESS_KEY=bench \
    --env AWS_ENDPOINT_URL=http://127.0.0.1:9 --env AWS_EC2_METADATA_DISABLED=true | tee -a "$LOG"
section "Lambda handler in-process (no Runtime API exchange)"
cargo bench --locked --bench lambda_handler 2>&1 \
    | grep -E '^(Lambda handler|init in-process|per event|lambda_handler/| +time:| +thrpt:)' | tee -a "$LOG"
echo; echo "log: $LOG"
