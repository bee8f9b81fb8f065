// The frugal subcommands (contract in DESIGN.md "Command line"). Each file
// cmd_<name>.cpp registers one on the app and returns how to run it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "model/checkpoint.h"
#include "model/mla.h"

namespace frugal {

struct Command {
  CLI::App* app;
  std::function<int()> run;  // exit code
};

Command logits_command(CLI::App& app);
Command synth_command(CLI::App& app);
Command run_command(CLI::App& app);
Command tokenize_command(CLI::App& app);
Command tokenizer_train_command(CLI::App& app);
Command bench_command(CLI::App& app);
Command chat_command(CLI::App& app);
Command quantize_command(CLI::App& app);
Command eval_command(CLI::App& app);
Command grpo_command(CLI::App& app);
Command corpus_command(CLI::App& app);
Command train_command(CLI::App& app);
Command serve_command(CLI::App& app);

// Shared flag helpers.
std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& flag);
std::string resolve_model_dir(const std::string& given);
// --mmap: map the weights from their files instead of copying them into huge
// pages (model/checkpoint.h WeightLoad); weight_load() turns the flag into the mode.
void mmap_flag_add(CLI::App* sub, bool& mmap);
WeightLoad weight_load(bool mmap);
// --bf16-activations: the AVX512-BF16 kernel's x as one bf16 (kernels/dispatch.h
// dpbf16_x_single), set while the command line is parsed.
void bf16_activations_flag_add(CLI::App* sub);
int default_threads();
// "auto" | "naive" | "absorb" (checked by the flag's validator).
AttnMode attn_mode_parse(const std::string& name);

}  // namespace frugal
