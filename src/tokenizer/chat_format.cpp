// Each renderer below is its template (tests/chat/templates/*.jinja) read as a
// state machine, line for line, with the template's namespace flags as locals.
// The quirks are kept on purpose, since the models saw them in training and
// every engine that runs the published template (transformers, vLLM, SGLang)
// produces them:
//  - V3: `ns.is_first` is never reset, so only the first tool call of the whole
//    conversation opens "<｜Assistant｜><｜tool▁calls▁begin｜>"; "<｜tool▁calls▁end｜>"
//    follows every later call, and an assistant turn with content *and* tool calls
//    renders only its content.
//  - R1: `is_first` and `is_output_first` are never reset either; later tool
//    outputs are not separated by "\n"; content after "</think>" only.
//  - V3-0324: "<｜Assistant｜>" is emitted right after each user turn, so the
//    generation prompt adds nothing after a user turn.
#include "tokenizer/chat_format.h"

#include <array>

#include "core/error.h"

namespace frugal {

namespace ct = chat_tokens;

std::string_view chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::DeepSeekV2: return "deepseek-v2";
    case ChatFormat::DeepSeekV3: return "deepseek-v3";
    case ChatFormat::DeepSeekV3_0324: return "deepseek-v3-0324";
    case ChatFormat::DeepSeekR1: return "deepseek-r1";
    case ChatFormat::Frugal: return "frugal";
  }
  return "?";
}

ChatThinking chat_format_thinking(ChatFormat f) {
  switch (f) {
    case ChatFormat::DeepSeekR1: return ChatThinking::Always;
    case ChatFormat::Frugal: return ChatThinking::Optional;
    default: return ChatThinking::Never;
  }
}

ChatFormat chat_format_parse(std::string_view name) {
  struct Alias { std::string_view name; ChatFormat format; };
  static constexpr std::array<Alias, 5> kShort = {{{"v2", ChatFormat::DeepSeekV2},
                                                   {"v3", ChatFormat::DeepSeekV3},
                                                   {"v3-0324", ChatFormat::DeepSeekV3_0324},
                                                   {"r1", ChatFormat::DeepSeekR1},
                                                   {"frugal", ChatFormat::Frugal}}};
  for (const Alias& a : kShort)
    if (name == a.name || name == chat_format_name(a.format)) return a.format;
  fail("unknown chat format \"{}\" (known: deepseek-v2, deepseek-v3, deepseek-v3-0324, deepseek-r1, frugal)", name);
}

namespace {

bool has(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

}  // namespace

ChatFormat chat_format_detect(std::string_view tpl, std::string_view model_type) {
  if (tpl.empty()) {
    if (model_type == "deepseek_v2") return ChatFormat::DeepSeekV2;
    if (model_type == "deepseek_v3") return ChatFormat::DeepSeekV3;
    fail("no chat_template in tokenizer_config.json and model_type \"{}\" has no default chat format; "
         "choose one by name (deepseek-v2, deepseek-v3, deepseek-v3-0324, deepseek-r1, frugal) or use raw text",
         model_type);
  }
  if (has(tpl, "frugal chat format")) return ChatFormat::Frugal;
  if (has(tpl, "'Assistant: ' + message['content'] + eos_token")) return ChatFormat::DeepSeekV2;
  if (has(tpl, ct::kUser) && has(tpl, ct::kAssistant)) {
    const bool thinks = has(tpl, ct::kThinkClose);
    const bool last_user = has(tpl, "is_last_user");
    // R1-0528 and V3.1 combine both (and add thinking switches / tool prompts of
    // their own): not reproduced here, so refuse rather than guess.
    if (thinks && last_user)
      fail("chat_template: this DeepSeek template (R1-0528 / V3.1 style) is not one frugal renders; "
           "choose a format by name (deepseek-v3, deepseek-v3-0324, deepseek-r1)");
    if (last_user) return ChatFormat::DeepSeekV3_0324;
    // R1's first release ended its generation prompt without "<think>\n"; DeepSeek
    // then forced it because the model sometimes skipped thinking. Both map here.
    if (thinks) return ChatFormat::DeepSeekR1;
    return ChatFormat::DeepSeekV3;
  }
  fail("chat_template is not a DeepSeek template frugal knows (V2, V3, V3-0324, R1); "
       "choose a format by name or use raw text");
}

namespace {

// Templates concatenate content with `+`, which fails on null; read null as "".
const std::string& text_of(const std::optional<std::string>& s) {
  static const std::string kEmpty;
  return s ? *s : kEmpty;
}

// All system messages, wherever they are, joined by a blank line: the first
// loop of the V3 / R1 / V3-0324 templates (ns.system_prompt, ns.is_first_sp).
std::string system_prompt(const std::vector<ChatMessage>& messages) {
  std::string sp;
  bool first = true;
  for (const ChatMessage& m : messages) {
    if (m.role != ChatRole::System) continue;
    if (!first) sp += "\n\n";
    sp += text_of(m.content);
    first = false;
  }
  return sp;
}

// type<｜tool▁sep｜>name\n```json\nARGS\n```<｜tool▁call▁end｜> (after the call-begin token).
std::string tool_call_body(const ToolCall& c) {
  std::string s = c.type;
  s += ct::kToolSep;
  s += c.name;
  s += "\n```json\n";
  s += c.arguments;
  s += "\n```";
  s += ct::kToolCallEnd;
  return s;
}

// R1's `content.split('</think>')[-1]`: the text after the last "</think>".
std::string_view after_reasoning(std::string_view content) {
  size_t p = content.rfind(ct::kThinkClose);
  return p == std::string_view::npos ? content : content.substr(p + ct::kThinkClose.size());
}

void append(std::string& out, std::string_view a) { out.append(a.data(), a.size()); }

// One tool result: the outputs-begin token before the first of a run, then (V3,
// V3-0324) "\n" between results or (R1) nothing, then the wrapped content.
enum class ToolOutputGap { Newline, None };
void append_tool_output(std::string& out, const ChatMessage& m, bool& is_output_first, ToolOutputGap gap) {
  if (is_output_first) {
    append(out, ct::kToolOutputsBegin);
    is_output_first = false;
  } else if (gap == ToolOutputGap::Newline) {
    out += "\n";
  }
  append(out, ct::kToolOutputBegin);
  out += text_of(m.content);
  append(out, ct::kToolOutputEnd);
}

std::string render_v2(const std::vector<ChatMessage>& messages, const ChatRenderOptions& opt) {
  std::string out = opt.bos_token;
  for (const ChatMessage& m : messages) {
    const std::string& c = text_of(m.content);
    if (m.role == ChatRole::User) out += "User: " + c + "\n\n";
    else if (m.role == ChatRole::Assistant) out += "Assistant: " + c + opt.eos_token;
    else if (m.role == ChatRole::System) out += c + "\n\n";
    // tool messages: the V2 template has no branch for them
  }
  if (opt.add_generation_prompt) out += "Assistant:";
  return out;
}

std::string render_v3(const std::vector<ChatMessage>& messages, const ChatRenderOptions& opt) {
  std::string out = opt.bos_token + system_prompt(messages);
  bool is_first = false, is_tool = false, is_output_first = true;
  for (const ChatMessage& m : messages) {
    if (m.role == ChatRole::User) {
      is_tool = false;
      append(out, ct::kUser);
      out += text_of(m.content);
    } else if (m.role == ChatRole::Assistant && !m.content) {
      is_tool = false;
      if (!m.tool_calls) continue;  // `for tool in undefined`: nothing
      for (const ToolCall& t : *m.tool_calls) {
        if (!is_first) {
          append(out, ct::kAssistant);
          append(out, ct::kToolCallsBegin);
          append(out, ct::kToolCallBegin);
          out += tool_call_body(t);
          is_first = true;
        } else {
          out += "\n";
          append(out, ct::kToolCallBegin);
          out += tool_call_body(t);
          append(out, ct::kToolCallsEnd);
          append(out, ct::kEos);
        }
      }
    } else if (m.role == ChatRole::Assistant) {
      if (is_tool) {
        append(out, ct::kToolOutputsEnd);
        is_tool = false;
      } else {
        append(out, ct::kAssistant);
      }
      out += *m.content;
      append(out, ct::kEos);
    } else if (m.role == ChatRole::Tool) {
      is_tool = true;
      append_tool_output(out, m, is_output_first, ToolOutputGap::Newline);
    }
  }
  if (is_tool) append(out, ct::kToolOutputsEnd);
  if (opt.add_generation_prompt && !is_tool) append(out, ct::kAssistant);
  return out;
}

std::string render_r1(const std::vector<ChatMessage>& messages, const ChatRenderOptions& opt) {
  std::string out = opt.bos_token + system_prompt(messages);
  bool is_first = false, is_tool = false, is_output_first = true;
  for (const ChatMessage& m : messages) {
    if (m.role == ChatRole::User) {
      is_tool = false;
      append(out, ct::kUser);
      out += text_of(m.content);
    } else if (m.role == ChatRole::Assistant && m.tool_calls) {
      is_tool = false;
      for (const ToolCall& t : *m.tool_calls) {
        if (!is_first) {
          append(out, ct::kAssistant);
          if (m.content) out += *m.content;  // as is: no "</think>" split on this path
          append(out, ct::kToolCallsBegin);
          append(out, ct::kToolCallBegin);
          is_first = true;
        } else {
          out += "\n";
          append(out, ct::kToolCallBegin);
        }
        out += tool_call_body(t);
      }
      append(out, ct::kToolCallsEnd);
      append(out, ct::kEos);
    } else if (m.role == ChatRole::Assistant) {
      if (is_tool) {
        append(out, ct::kToolOutputsEnd);
        out += text_of(m.content);
        is_tool = false;
      } else {
        append(out, ct::kAssistant);
        append(out, after_reasoning(text_of(m.content)));  // earlier reasoning dropped
      }
      append(out, ct::kEos);
    } else if (m.role == ChatRole::Tool) {
      is_tool = true;
      append_tool_output(out, m, is_output_first, ToolOutputGap::None);
    }
  }
  if (is_tool) append(out, ct::kToolOutputsEnd);
  if (opt.add_generation_prompt && !is_tool) {
    append(out, ct::kAssistant);
    append(out, ct::kThinkOpen);
    out += "\n";
  }
  return out;
}

std::string render_v3_0324(const std::vector<ChatMessage>& messages, const ChatRenderOptions& opt) {
  std::string out = opt.bos_token + system_prompt(messages);
  bool is_first = false, is_tool = false, is_output_first = true, is_last_user = false;
  for (const ChatMessage& m : messages) {
    if (m.role == ChatRole::User) {
      is_tool = false;
      is_first = false;
      is_last_user = true;
      append(out, ct::kUser);
      out += text_of(m.content);
      append(out, ct::kAssistant);
    } else if (m.role == ChatRole::Assistant && m.tool_calls) {
      is_last_user = false;
      if (is_tool) append(out, ct::kToolOutputsEnd);
      is_first = false;
      is_tool = false;
      is_output_first = true;
      for (const ToolCall& t : *m.tool_calls) {
        if (!is_first) {
          if (m.content) out += *m.content;
          append(out, ct::kToolCallsBegin);
          append(out, ct::kToolCallBegin);
          is_first = true;
        } else {
          out += "\n";
          append(out, ct::kToolCallBegin);
        }
        out += tool_call_body(t);
      }
      append(out, ct::kToolCallsEnd);
      append(out, ct::kEos);
    } else if (m.role == ChatRole::Assistant) {
      is_last_user = false;
      if (is_tool) {
        append(out, ct::kToolOutputsEnd);
        is_tool = false;
      }
      out += text_of(m.content);
      append(out, ct::kEos);
    } else if (m.role == ChatRole::Tool) {
      is_last_user = false;
      is_tool = true;
      append_tool_output(out, m, is_output_first, ToolOutputGap::Newline);
    }
  }
  if (is_tool) append(out, ct::kToolOutputsEnd);
  if (opt.add_generation_prompt && !is_last_user && !is_tool) append(out, ct::kAssistant);
  return out;
}

// Frugal: R1's tokens and reasoning dropping, with the tool-call structure the
// DeepSeek templates intend (every assistant turn opens with "<｜Assistant｜>",
// each run of calls and of outputs is bracketed once), and optional thinking.
std::string render_frugal(const std::vector<ChatMessage>& messages, const ChatRenderOptions& opt) {
  std::string out = opt.bos_token + system_prompt(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == ChatRole::User) {
      append(out, ct::kUser);
      out += text_of(m.content);
    } else if (m.role == ChatRole::Assistant) {
      append(out, ct::kAssistant);
      append(out, after_reasoning(text_of(m.content)));
      if (m.tool_calls && !m.tool_calls->empty()) {
        append(out, ct::kToolCallsBegin);
        for (size_t k = 0; k < m.tool_calls->size(); ++k) {
          if (k > 0) out += "\n";
          append(out, ct::kToolCallBegin);
          out += tool_call_body((*m.tool_calls)[k]);
        }
        append(out, ct::kToolCallsEnd);
      }
      append(out, ct::kEos);
    } else if (m.role == ChatRole::Tool) {
      const bool run_starts = i == 0 || messages[i - 1].role != ChatRole::Tool;
      const bool run_ends = i + 1 == messages.size() || messages[i + 1].role != ChatRole::Tool;
      append(out, run_starts ? ct::kToolOutputsBegin : "\n");
      append(out, ct::kToolOutputBegin);
      out += text_of(m.content);
      append(out, ct::kToolOutputEnd);
      if (run_ends) append(out, ct::kToolOutputsEnd);
    }
  }
  if (opt.add_generation_prompt) {
    append(out, ct::kAssistant);
    if (opt.thinking.value_or(true)) {
      append(out, ct::kThinkOpen);
      out += "\n";
    }
  }
  return out;
}

}  // namespace

std::string chat_render(ChatFormat f, const std::vector<ChatMessage>& messages, const ChatRenderOptions& opt) {
  switch (f) {
    case ChatFormat::DeepSeekV2: return render_v2(messages, opt);
    case ChatFormat::DeepSeekV3: return render_v3(messages, opt);
    case ChatFormat::DeepSeekV3_0324: return render_v3_0324(messages, opt);
    case ChatFormat::DeepSeekR1: return render_r1(messages, opt);
    case ChatFormat::Frugal: return render_frugal(messages, opt);
  }
  FRUGAL_CHECK(false, "unhandled chat format {}", int(f));
  return {};
}

bool chat_prompt_opens_reasoning(std::string_view prompt) {
  size_t end = prompt.size();
  while (end > 0 && (prompt[end - 1] == ' ' || prompt[end - 1] == '\n' || prompt[end - 1] == '\t' ||
                     prompt[end - 1] == '\r'))
    --end;
  return prompt.substr(0, end).ends_with(ct::kThinkOpen);
}

// The Jinja text of render_frugal. Whitespace control (`-`) on every tag, so the
// layout below never reaches the output under any engine's trim settings.
std::string_view chat_template_frugal() {
  static const std::string kTemplate = R"JINJA({#- frugal chat format 1: DeepSeek-R1 tokens; earlier reasoning dropped; enable_thinking (default true) -#}
{%- set ns = namespace(system_prompt='', is_first_sp=true) -%}
{%- for message in messages -%}
  {%- if message['role'] == 'system' -%}
    {%- if ns.is_first_sp -%}
      {%- set ns.system_prompt = message['content'] -%}
      {%- set ns.is_first_sp = false -%}
    {%- else -%}
      {%- set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] -%}
    {%- endif -%}
  {%- endif -%}
{%- endfor -%}
{{- bos_token + ns.system_prompt -}}
{%- for message in messages -%}
  {%- if message['role'] == 'user' -%}
    {{- '<｜User｜>' + message['content'] -}}
  {%- elif message['role'] == 'assistant' -%}
    {%- set content = message['content'] if message['content'] is not none else '' -%}
    {%- if '</think>' in content -%}
      {%- set content = content.split('</think>')[-1] -%}
    {%- endif -%}
    {{- '<｜Assistant｜>' + content -}}
    {%- if message['tool_calls'] is defined and message['tool_calls'] is not none and message['tool_calls'] | length > 0 -%}
      {{- '<｜tool▁calls▁begin｜>' -}}
      {%- for tool in message['tool_calls'] -%}
        {%- if not loop.first -%}
          {{- '\n' -}}
        {%- endif -%}
        {{- '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n```json\n' + tool['function']['arguments'] + '\n```<｜tool▁call▁end｜>' -}}
      {%- endfor -%}
      {{- '<｜tool▁calls▁end｜>' -}}
    {%- endif -%}
    {{- '<｜end▁of▁sentence｜>' -}}
  {%- elif message['role'] == 'tool' -%}
    {%- if loop.first or messages[loop.index0 - 1]['role'] != 'tool' -%}
      {{- '<｜tool▁outputs▁begin｜>' -}}
    {%- else -%}
      {{- '\n' -}}
    {%- endif -%}
    {{- '<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>' -}}
    {%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' -%}
      {{- '<｜tool▁outputs▁end｜>' -}}
    {%- endif -%}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<｜Assistant｜>' -}}
  {%- if enable_thinking is not defined or enable_thinking -%}
    {{- '<think>\n' -}}
  {%- endif -%}
{%- endif -%}
)JINJA";
  return kTemplate;
}

}  // namespace frugal
