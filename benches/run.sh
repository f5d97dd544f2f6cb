#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and prints a table. Reproduce with:
#
#   CARGO_TARGET_DIR=/path/to/target benches/run.sh            # everything
#   SIZE=1G SMALL=100M REPEAT=3 benches/run.sh                 # the defaults
#   LAMBDA_BIN=target/release/enforcer-lambda benches/run.sh   # once the Lambda binary exists
#
# Generated CloudTrail trees go to $CARGO_TARGET_DIR/bench-data/ (never into the repository)
# and are reused. Every figure is printed with the load average at the time: numbers taken
# while other work runs on the machine are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR=never
SIZE="${SIZE:-1G}"
SMALL="${SMALL:-100M}"
REPEAT="${REPEAT:-3}"
DATA="$CARGO_TARGET_DIR/bench-data"
RELEASE="$CARGO_TARGET_DIR/release"
LOG="$DATA/run-$(date -u +%Y%m%dT%H%M%SZ).log"
mkdir -p "$DATA"

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
cargo build --release --locked --bin enforcer --example gen-cloudtrail --example lambda-harness 2>&1 | tail -1

tree() { # tree SIZE → path of a generated S3 tree of that many JSON bytes
    local dir="$DATA/tree-$1"
    if [ ! -f "$dir/.complete" ]; then
        rm -rf "$dir"
        "$RELEASE/examples/gen-cloudtrail" --out "$dir" --size "$1" --shared ../shared/events >&2
        touch "$dir/.complete"
    fi
    echo "$dir"
}

section "hot path: decode + resolve + evaluate one record"
cargo bench --locked --bench hot_path 2>&1 | grep -E '^(per record|decode|replay fast|one_record/| +time:| +thrpt:)' | tee -a "$LOG"

BIG=$(tree "$SIZE")
SMALLTREE=$(tree "$SMALL")

section "replay throughput vs bare serde_json, $SIZE tree"
cargo bench --locked --bench replay_throughput -- --dir "$BIG" --repeat "$REPEAT" 2>&1 \
    | grep -vE '^\s*(Compiling|Finished|Running)' | tee -a "$LOG"

peak() { # peak TREE THREADS → "max_rss_kB wall_s MB/s"
    local out
    out=$(/usr/bin/time -v "$RELEASE/enforcer" replay --threads "$2" --format json "$1" 2>&1 >"$DATA/peak.json")
    local rss wall
    rss=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
    wall=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(f"{s[\"seconds\"]:.2f} {s[\"bytes_decoded\"]/1e6/s[\"seconds\"]:.1f}")' "$DATA/peak.json")
    echo "$rss $wall"
}

section "peak memory of enforcer replay (/usr/bin/time -v)"
printf '%-10s %-8s %14s %10s %10s %s\n' tree threads "peak RSS MB" "wall s" "MB/s" "load" | tee -a "$LOG"
for t in "$SMALL:$SMALLTREE" "$SIZE:$BIG"; do
    for threads in 1 2; do
        read -r rss wall rate <<<"$(peak "${t#*:}" "$threads")"
        printf '%-10s %-8s %14.1f %10s %10s %s\n' "${t%%:*}" "$threads" "$(echo "$rss/1024" | bc -l)" "$wall" "$rate" "$(load)" | tee -a "$LOG"
    done
done

section "release binary size"
size=$(stat -c %s "$RELEASE/enforcer")
printf 'enforcer (stripped, profile.release): %s bytes = %.2f MB\n' "$size" "$(echo "$size/1000000" | bc -l)" | tee -a "$LOG"

section "Lambda: init, per event, peak RSS"
LAMBDA_BIN="${LAMBDA_BIN:-$RELEASE/enforcer-lambda}"
if [ -x "$LAMBDA_BIN" ]; then
    printf 'size: %s bytes\n' "$(stat -c %s "$LAMBDA_BIN")" | tee -a "$LOG"
    "$RELEASE/examples/lambda-harness" --bin "$LAMBDA_BIN" --runs 20 --events 200 | tee -a "$LOG"
else
    echo "pending: no Lambda binary at $LAMBDA_BIN (harness checked against benches/fake-function.sh)" | tee -a "$LOG"
    "$RELEASE/examples/lambda-harness" --bin benches/fake-function.sh --runs 3 --events 5 | sed 's/^/  stand-in: /' | tee -a "$LOG"
fi
echo; echo "log: $LOG"
