// OpenAI-shaped results, so code written for the OpenAI SDK reads ours unchanged.

function usage(promptTokens, result) {
  const completion = result.tokens.length;
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

function finish(reason) {
  // Ours adds 'cancelled' (interrupt()); OpenAI has no such value, so it is passed as is.
  return reason;
}

/** A whole `chat.completion` object. */
export function chatCompletion(id, created, model, promptTokens, result) {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: finish(result.finish_reason), logprobs: null }],
    usage: usage(promptTokens, result),
    timings: result.timings,
  };
}

/** One `chat.completion.chunk`; the last one carries the finish reason, usage and timings. */
export function chatChunk(id, created, model, delta, finishReason, promptTokens, result) {
  const chunk = {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason === null ? null : finish(finishReason), logprobs: null }],
  };
  if (result) {
    chunk.usage = usage(promptTokens, result);
    chunk.timings = result.timings;
  }
  return chunk;
}

/** A `text_completion` object for `generate()`. */
export function textCompletion(model, promptTokens, result) {
  return {
    id: `cmpl-${Date.now().toString(36)}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, text: result.text, finish_reason: finish(result.finish_reason), logprobs: null }],
    tokens: result.tokens,
    usage: usage(promptTokens, result),
    timings: result.timings,
  };
}
