#!/usr/bin/env bash
# Scaling curves: decode tokens/s against context length and prefill tokens/s against prompt
# length, natively (lmfast, and llama.cpp when bench/.venv has it) plus the browser curves of
# the last bench/run-browser.sh, drawn as PNGs in bench/plots/.
#
#   bench/run-scaling.sh [--lengths 128,256,512,1024,2048] [--gen-tokens 32] [--runs 3]
#                        [--threads 1,2] [--llama-threads 1] [--no-llama-cpp] [--plots-only]
#
# Each point is one invocation with --runs 1: a prompt of N ids (the first N of
# bench/prompt-ids-2048.json) then --gen-tokens greedy tokens; decode speed is measured over
# those tokens, i.e. at a context of N..N+gen. Invocations are interleaved (run 1 of every
# length and engine, then run 2, ...). --threads lists lmfast's thread counts, --llama-threads
# llama.cpp's (default 1: its OpenMP threads spin while waiting, and with 2 threads on this
# shared 2-core machine it collapses to a few tokens/s). bench/scaling.py takes medians →
# bench/out/scaling.json;
# bench-tools' `plots` draws bench/plots/decode-vs-context.png and prefill-vs-prompt.png with
# DejaVu Sans (Debian's fonts-dejavu-core, installed here when missing).
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"
cd "$root"

lengths="128,256,512,1024,2048"
gen=32
runs=3
threads=1,2
llama_threads=1
llama=1
plots_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lengths) lengths="$2"; shift 2 ;;
    --gen-tokens) gen="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --llama-threads) llama_threads="$2"; shift 2 ;;
    --no-llama-cpp) llama=0; shift ;;
    --plots-only) plots_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$bench/run-scaling.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-scaling: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
out="$bench/out"
mkdir -p "$out"
lmfast_bin="target/release/lmfast"
lmfast_model="models/smollm2-135m-q4"
gguf="models/SmolLM2-135M-Instruct.Q4_1.gguf"
py="$bench/.venv/bin/python"

if [ "$plots_only" = 0 ]; then
  [ -x "$lmfast_bin" ] || { echo "run-scaling: $lmfast_bin is missing (cargo build --release -p lmfast-native-runner)" >&2; exit 1; }
  [ -f "$lmfast_model/manifest.json" ] || { echo "run-scaling: $lmfast_model is missing (see README: lmfast export)" >&2; exit 1; }
  # Each entry: engine:threads.
  engines=()
  IFS=, read -r -a ts <<< "$threads"
  for t in "${ts[@]}"; do engines+=("lmfast:$t"); done
  if [ "$llama" = 1 ]; then
    if [ -x "$py" ] && "$py" -c 'import llama_cpp' 2>/dev/null && [ -f "$gguf" ]; then
      IFS=, read -r -a ts <<< "$llama_threads"
      for t in "${ts[@]}"; do engines+=("llama.cpp:$t"); done
    else log "skipping llama.cpp: bench/.venv has no llama_cpp (bench/setup-peers.sh sets it up)"; fi
  fi
  IFS=, read -r -a ns <<< "$lengths"
  for n in "${ns[@]}"; do
    python3 -c 'import json,sys; ids=json.load(open(sys.argv[1])); n=int(sys.argv[2]); assert n <= len(ids), "at most %d prompt ids" % len(ids); json.dump(ids[:n], open(sys.argv[3], "w"))' \
      "$bench/prompt-ids-2048.json" "$n" "$out/prompt_ids_$n.json"
  done
  runs_file="$out/scaling-native-runs.jsonl"
  : > "$runs_file"
  load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "native scaling: ${engines[*]} (engine:threads); prompts $lengths, $gen generated, $runs runs (load average $load_start)"
  for i in $(seq 1 "$runs"); do
    for n in "${ns[@]}"; do
      for et in "${engines[@]}"; do
        e="${et%%:*}"
        common=(--prompt-ids "$out/prompt_ids_$n.json" --gen-tokens "$gen" --threads "${et##*:}" --runs 1 --json)
        case "$e" in
          lmfast) line="$("$lmfast_bin" bench "$lmfast_model" "${common[@]}" 2>"$out/scaling-$e.stderr" | tail -n 1)" ;;
          llama.cpp) line="$("$py" "$bench/peers/llama_cpp_bench.py" --model "$gguf" "${common[@]}" 2>"$out/scaling-$e.stderr" | tail -n 1)" ;;
        esac
        # Keep only what the curves need, with the prompt length each point belongs to.
        printf '%s' "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"engine": sys.argv[1], "prompt_tokens": int(sys.argv[2]), "gen_tokens": r["gen_tokens"], "threads": r["threads"], "prefill_tok_s": r["prefill_tok_s"], "decode_tok_s": r["decode_tok_s"], "ttft_s": r["ttft_s"]}))' "$e" "$n" >> "$runs_file"
        log "run $i/$runs $e (${et##*:} threads) prompt $n: $(tail -n 1 "$runs_file" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("prefill %.1f tok/s, decode %.1f tok/s" % (r["prefill_tok_s"], r["decode_tok_s"]))')"
      done
    done
  done
  load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
  # Kept next to the runs so that --plots-only redraws with the same labels.
  python3 -c 'import json,sys; json.dump(dict(zip(["load_avg_start","load_avg_end","date","git_rev"], sys.argv[1:])), open(sys.argv[5], "w"))' \
    "$load_start" "$load_end" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$out/scaling-native-meta.json"
fi
python3 "$bench/scaling.py"

# Plots.
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
if ! dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "install ok installed" || [ ! -f "$font" ]; then
  log "installing fonts-dejavu-core (the TTF the plots are drawn with)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null
fi
tools="$bench/bench-tools/target/release"
if [ ! -x "$tools/plots" ]; then
  log "building bench/bench-tools (nice -n 19 cargo build --release --locked, ~2 min)"
  (cd "$bench/bench-tools" && nice -n 19 cargo build --release --locked)
fi
"$tools/plots" --input "$out/scaling.json" --out-dir "$bench/plots" --font "$font"
