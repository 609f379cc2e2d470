#!/usr/bin/env bash
# Native CPU comparison: lmfast vs llama.cpp (llama-cpp-python) vs candle, on SmolLM2-135M by
# default (--model and --lmfast-model pick another, e.g. Gemma 3 270M).
#
#   bench/run-native.sh [--prompt-tokens 128] [--gen-tokens 128] [--threads 2] [--runs 5]
#                       [--model GGUF] [--lmfast-model DIR] [--lmfast BIN]
#                       [--lmfast-before BIN] [--engines "lmfast llama.cpp candle"]
#
# Sets up the Python peer (bench/setup-peers.sh), builds the candle peer if missing, writes the
# prompt ids (bench/prompt.txt tokenized by llama.cpp, a BOS only where the GGUF asks for one,
# cut to --prompt-tokens) to bench/out/prompt_ids.json, then runs the engines interleaved: run 1
# of every engine, then run 2 of every engine, ... each as its own process with --runs 1.
# bench/summarize.py takes the medians, prints a table with ratios vs llama.cpp and writes
# bench/out/native.json.
#
# lmfast runs `target/release/lmfast bench DIR ...` on the export folder --lmfast-model
# (default models/smollm2-135m-q4); llama.cpp and candle run on the Q4_1 GGUF (--model).
# lmfast is skipped, with a message, when its binary, its `bench` subcommand or its model folder
# is missing. --lmfast-before BIN adds an engine `lmfast-before` (an older build on the same
# folder) for before/after figures; --engines picks the peers (candle runs llama models only).
# Other load on the machine skews the numbers: run it on an idle machine.
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"
cd "$root"

prompt_tokens=128
gen_tokens=128
threads=2
runs=5
model="models/SmolLM2-135M-Instruct.Q4_1.gguf"
lmfast_model="models/smollm2-135m-q4"
lmfast_bin="target/release/lmfast"
lmfast_before=""
want_engines="lmfast llama.cpp candle"

# The help is this header: every comment line from line 2 to the first line of code.
usage() { awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prompt-tokens) prompt_tokens="$2"; shift 2 ;;
    --gen-tokens) gen_tokens="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --lmfast-model) lmfast_model="$2"; shift 2 ;;
    --lmfast) lmfast_bin="$2"; shift 2 ;;
    --lmfast-before) lmfast_before="$2"; shift 2 ;;
    --engines) want_engines="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-native: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

# 1. Peers and model.
"$bench/setup-peers.sh"
py="$bench/.venv/bin/python"
if [ "$model" = "models/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  (source "$root/scripts/common.sh" && ensure_models smollm2-135m gemma3-270m) >&2
fi
[ -f "$model" ] || { echo "run-native: model $model not found" >&2; exit 1; }

candle_bin="$bench/candle-bench/target/release/candle-bench"
wants() { case " $want_engines " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if wants candle && [ ! -x "$candle_bin" ]; then
  log "building the candle peer (nice -n 19 cargo build --release --locked; slow on 2 cores)"
  (cd "$bench/candle-bench" && nice -n 19 cargo build --release --locked)
fi

# 2. Prompt ids.
out="$bench/out"
mkdir -p "$out"
prompt_ids="$out/prompt_ids.json"
"$py" "$bench/make_prompt_ids.py" --model "$model" --text "$bench/prompt.txt" \
  --tokens "$prompt_tokens" --out "$prompt_ids" >&2

# 3. Engines.
engines=()
if ! wants lmfast; then :
elif [ ! -x "$lmfast_bin" ]; then
  log "skipping lmfast: $lmfast_bin not built (cargo build --release -p lmfast-native-runner)"
elif ! "$lmfast_bin" bench --help >/dev/null 2>&1; then
  log "skipping lmfast: $lmfast_bin has no 'bench' subcommand yet"
elif [ ! -e "$lmfast_model" ]; then
  log "skipping lmfast: model folder $lmfast_model not found"
else
  engines+=(lmfast)
fi
[ -n "$lmfast_before" ] && engines+=(lmfast-before)
wants llama.cpp && engines+=(llama.cpp)
wants candle && engines+=(candle)

load1="$(cut -d' ' -f1 /proc/loadavg)"
if python3 -c "import sys; sys.exit(0 if float('$load1') < 0.5 else 1)"; then :; else
  log "warning: load average is $load1: other work on the machine skews these numbers"
fi

common=(--prompt-ids "$prompt_ids" --gen-tokens "$gen_tokens" --threads "$threads" --runs 1 --json)
run_engine() {
  case "$1" in
    lmfast) "$lmfast_bin" bench "$lmfast_model" "${common[@]}" ;;
    # The same JSON under its own engine name, so the summary keeps the two apart.
    lmfast-before) "$lmfast_before" bench "$lmfast_model" "${common[@]}" \
      | python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["engine"]="lmfast-before"; print(json.dumps(r))' ;;
    llama.cpp) "$py" "$bench/peers/llama_cpp_bench.py" --model "$model" "${common[@]}" ;;
    candle) "$candle_bin" --model "$model" "${common[@]}" ;;
  esac
}

runs_file="$out/native-runs.jsonl"
: > "$runs_file"
log "engines: ${engines[*]}; prompt $prompt_tokens tokens, $gen_tokens generated, $threads threads, $runs runs each (interleaved)"
failed=()
for i in $(seq 1 "$runs"); do
  for e in "${engines[@]}"; do
    # Skip an engine that already failed once.
    case " ${failed[*]-} " in *" $e "*) continue ;; esac
    if line="$(run_engine "$e" 2>"$out/$e.stderr" | tail -n 1)" && [ -n "$line" ] \
        && printf '%s' "$line" | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; then
      printf '%s\n' "$line" >> "$runs_file"
      log "run $i/$runs $e: $(printf '%s' "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("prefill %.1f tok/s, decode %.1f tok/s, ttft %.3f s, load %.3f s, peak RSS %.0f MiB" % (r["prefill_tok_s"], r["decode_tok_s"], r["ttft_s"], r["load_s"], r["peak_rss_mib"]))')"
    else
      log "run $i/$runs $e FAILED (stderr in $out/$e.stderr):"
      tail -n 5 "$out/$e.stderr" >&2 || true
      failed+=("$e")
    fi
  done
done

# 4. Summary.
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
python3 "$bench/summarize.py" --runs "$runs_file" --out "$out/native.json" \
  --meta "prompt_tokens=$prompt_tokens" --meta "gen_tokens=$gen_tokens" \
  --meta "threads=$threads" --meta "runs=$runs" --meta "load_avg_at_start=$load1" --meta "model=$model" \
  --meta "lmfast_model=$lmfast_model" --meta "cpu=$cpu" --meta "nproc=$(nproc)" \
  --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --meta "git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ ${#failed[@]} -eq 0 ] || { log "failed engines: ${failed[*]}"; exit 1; }
