"""llama.cpp (llama-cpp-python) on the same GGUF file, the same prompt and the same thread count
as meetvault's bench (crates/intel/benches/intelligence.rs): prompt tokens per second (best of
three) and generation tokens per second (64 greedy tokens, no stops).
    python bench/intelligence_peer.py MODEL.gguf PROMPT_FILE THREADS
"""
import sys
import time

import llama_cpp

path, prompt_file, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
llm = llama_cpp.Llama(model_path=path, n_ctx=4096, n_threads=threads, n_threads_batch=threads,
                      n_batch=256, verbose=False)
text = open(prompt_file, encoding="utf-8").read()
prompt = llm.tokenize(f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n".encode(),
                      add_bos=False, special=True)


def best_eval(tokens):
    """The fastest of three evaluations of `tokens` from an empty cache, in seconds."""
    best = float("inf")
    for _ in range(3):
        llm.reset()
        t = time.perf_counter()
        llm.eval(tokens)
        best = min(best, time.perf_counter() - t)
    return best


best = best_eval(prompt)
print(f"prompt_tokens\t{len(prompt)}")
print(f"prompt_tok_per_s\t{len(prompt) / best:.1f}")
story = llm.tokenize(b"<|im_start|>user\nWrite a long story about a lighthouse keeper.<|im_end|>\n<|im_start|>assistant\n",
                     add_bos=False, special=True)
first = best_eval(story)
llm.reset()
n = 0
t = time.perf_counter()
for tok in llm.generate(story, top_k=1, temp=0.0, repeat_penalty=1.0):
    n += 1
    if n >= 64:
        break
# 64 tokens = the prompt's evaluation + 63 single-token steps (as meetvault's bench counts).
print(f"gen_tok_per_s\t{(n - 1) / (time.perf_counter() - t - first):.1f}")
