#!/usr/bin/env bash
# fuzz.sh — run the libFuzzer targets built by `make fuzz`.
#
#   FUZZ_BUILD=build-fuzz FUZZ_SECONDS=60 FUZZ_JOBS=2 bash scripts/fuzz.sh [target...]
#
# Targets are the fuzz_* executables in $FUZZ_BUILD/tests (all of them, or the
# ones named: "cipher" or "fuzz_cipher"). Each runs for FUZZ_SECONDS, FUZZ_JOBS
# at a time, under `nice`, reading its committed seeds tests/fuzz/corpus/<name>/
# and growing a scratch corpus fuzz-out/<name>/corpus/ (git-ignored, kept
# between runs so campaigns resume). Crash, leak, timeout and OOM reproducers
# land in fuzz-out/<name>/crashes/, the libFuzzer log in fuzz-out/<name>/log.
#
# Prints one line per target: executions and verdict. Exits 1 if any target
# found something (or could not run), 0 otherwise.
#
# FUZZ_MERGE=1 afterwards merges the new coverage into the committed corpus
# (libFuzzer -merge=1 -use_counters=0: only inputs that reach new edges are
# copied, not every new hit count, so corpora stay small), skipping inputs of
# 8 KiB or more; review with `git status` before committing.
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
merge=${FUZZ_MERGE:-0}
out=${FUZZ_OUT:-$root/fuzz-out}
case $build in /*) ;; *) build=$root/$build ;; esac

die() { echo "fuzz.sh: $*" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || die "FUZZ_SECONDS must be a positive integer"
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || die "FUZZ_JOBS must be a positive integer"
[[ -d $build/tests ]] || die "no $build/tests: build first (make fuzz)"

# Largest input per target: expensive parsers get small inputs (libFuzzer
# would otherwise grow them up to 4 KiB); unknown targets keep the default.
max_len() {
    case $1 in
        cipher) echo 2048 ;;
        sig) echo 512 ;;
        key) echo 4096 ;;
        codec) echo 4096 ;;
        *) echo 0 ;;
    esac
}

# ---- which targets --------------------------------------------------------
targets=()
if (($#)); then
    for a in "$@"; do
        name=${a#fuzz_}
        [[ -x $build/tests/fuzz_$name ]] || die "no fuzz target $build/tests/fuzz_$name"
        targets+=("$name")
    done
else
    for bin in "$build"/tests/fuzz_*; do
        [[ -f $bin && -x $bin ]] && targets+=("$(basename "${bin#"$build"/tests/fuzz_}")")
    done
fi
((${#targets[@]})) || die "no fuzz_* executables in $build/tests"

# A libFuzzer binary answers -help=1; a replay build (no ECERT_FUZZ) does not.
help=$("$build/tests/fuzz_${targets[0]}" -help=1 2>&1)
if [[ $help != *max_total_time* ]]; then
    die "$build was not configured with -DECERT_FUZZ=ON (clang); use make fuzz"
fi

# ---- one campaign ---------------------------------------------------------
# Runs in the background; its verdict is fuzz-out/<name>/status.
run_one() {
    local name=$1 dir=$out/$1 seeds=$root/tests/fuzz/corpus/$1
    local bin=$build/tests/fuzz_$1
    mkdir -p "$dir/corpus" "$dir/crashes"
    local args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=25
                -rss_limit_mb=2560 -artifact_prefix="$dir/crashes/"
                -error_exitcode=77 -timeout_exitcode=77)
    local ml
    ml=$(max_len "$name")
    [[ $ml != 0 ]] && args+=(-max_len="$ml")
    local dirs=("$dir/corpus")
    [[ -d $seeds ]] && dirs+=("$seeds")
    touch "$dir/.start"
    # setsid: no controlling terminal, as in CI, so that a parser that would
    # prompt on /dev/tty (OpenSSL's PEM pass phrase) fails the same way for
    # everyone. The outer timeout only guards against a wedged process.
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        setsid -w nice -n 10 timeout -k 30 $((seconds + 600)) "$bin" "${args[@]}" "${dirs[@]}" \
        </dev/null >"$dir/log" 2>&1
    local rc=$?
    local execs
    # Findings of this run (slow-unit-* files are only a note, not a finding).
    find "$dir/crashes" -type f -newer "$dir/.start" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
        >"$dir/found"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    if ((rc == 0)) && [[ ! -s $dir/found ]]; then
        echo "ok ${execs:-?}" >"$dir/status"
    else
        echo "FOUND ${execs:-?} rc=$rc" >"$dir/status"
    fi
}

# ---- run, FUZZ_JOBS at a time ---------------------------------------------
echo "fuzz.sh: ${#targets[@]} target(s), ${seconds}s each, $jobs at a time; output in $out/"
mkdir -p "$out"
running=0
for name in "${targets[@]}"; do
    rm -f "$out/$name/status"
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
    echo "  start $name"
    run_one "$name" &
    running=$((running + 1))
done
wait

# ---- report ---------------------------------------------------------------
failed=0
printf '%-12s %14s  %s\n' target executions result
for name in "${targets[@]}"; do
    read -r verdict execs rest <"$out/$name/status" 2>/dev/null || verdict=FOUND execs=? rest="no status"
    if [[ $verdict == ok ]]; then
        printf '%-12s %14s  %s\n' "$name" "$execs" "clean"
    else
        failed=1
        printf '%-12s %14s  %s\n' "$name" "$execs" "FOUND something ($rest): see $out/$name/log"
        sed 's/^/               /' "$out/$name/found" 2>/dev/null
        grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+: property violated)' "$out/$name/log" |
            sed 's/^/               /'
    fi
done

# ---- optional: merge new coverage into the committed seeds -------------------
if [[ $merge == 1 ]]; then
    for name in "${targets[@]}"; do
        seeds=$root/tests/fuzz/corpus/$name
        mkdir -p "$seeds"
        # Only inputs under 8 KiB are candidates (committed corpora stay small).
        cand=$(mktemp -d)
        find "$out/$name/corpus" -type f -size -8192c -exec cp {} "$cand/" \;
        before=$(find "$seeds" -type f | wc -l)
        nice -n 10 "$build/tests/fuzz_$name" -merge=1 -use_counters=0 "$seeds" "$cand" >"$out/$name/merge.log" 2>&1 ||
            echo "fuzz.sh: merge for $name failed, see $out/$name/merge.log" >&2
        rm -rf "$cand"
        after=$(find "$seeds" -type f | wc -l)
        echo "merge $name: $before -> $after seed files"
        ((after >= 60)) && echo "fuzz.sh: warning: $seeds has $after files (keep it under 60)" >&2
    done
fi
exit $failed
