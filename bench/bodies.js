// bench/bodies.js: writes the client request bodies every scenario sends, into the directory
// given as argv[2]. Deterministic (no randomness), so runs compare.
'use strict';
const fs = require('fs');
const path = require('path');
const out = process.argv[2];

const para = (i, n) => {
  let s = `Paragraph ${i}: `;
  const words = ['the', 'gateway', 'converts', 'requests', 'between', 'protocols', 'and',
    'streams', 'answers', 'back', 'with', 'tools', 'accounts', 'quota', 'latency', 'ünïcødé', '—'];
  for (let k = 0; s.length < n; k++) s += words[(i * 7 + k) % words.length] + ' ';
  return s.slice(0, n);
};

// The last user turn is what the mock echoes back; 240 characters make >= 50 events when the
// mock is told to split the answer into 50.
const lastTurn = 'Please summarise the following plan in one paragraph. ' + para(999, 186);

// OpenAI chat, ~1.5 KB: system prompt, a short history, one tool, generation parameters.
const chat = {
  model: 'gemini-2.5-flash',
  messages: [
    { role: 'system', content: 'You are a careful assistant. ' + para(1, 300) },
    { role: 'user', content: para(2, 260) },
    { role: 'assistant', content: para(3, 240) },
    { role: 'user', content: lastTurn },
  ],
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' },
      unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] } } }],
  temperature: 0.7,
  top_p: 0.95,
  max_tokens: 1024,
};
let chatJson = JSON.stringify(chat);
// Pad the system prompt to 1.5 KB exactly-ish.
chat.messages[0].content += ' ' + para(4, Math.max(0, 1536 - chatJson.length - 1));
chatJson = JSON.stringify(chat);

// OpenAI chat, ~200 KB conversation: 160 turns of ~1.2 KB plus the last turn.
const conv = { model: 'gemini-2.5-flash', messages: [
  { role: 'system', content: 'You are a careful assistant. ' + para(5, 800) }] };
for (let i = 0; JSON.stringify(conv).length < 200 * 1024 - 400; i++)
  conv.messages.push({ role: i % 2 ? 'assistant' : 'user', content: para(10 + i, 1200) });
if (conv.messages[conv.messages.length - 1].role === 'user')
  conv.messages.push({ role: 'assistant', content: 'Understood.' });
conv.messages.push({ role: 'user', content: lastTurn });

// OpenAI chat, ~1 MB conversation: the same shape, ~850 turns (what a long coding session sends).
const conv1m = { model: 'gemini-2.5-flash', messages: [
  { role: 'system', content: 'You are a careful assistant. ' + para(6, 800) }] };
for (let i = 0; JSON.stringify(conv1m).length < 1024 * 1024 - 1600; i++)
  conv1m.messages.push({ role: i % 2 ? 'assistant' : 'user', content: para(2000 + i, 1200) });
if (conv1m.messages[conv1m.messages.length - 1].role === 'user')
  conv1m.messages.push({ role: 'assistant', content: 'Understood.' });
conv1m.messages.push({ role: 'user', content: lastTurn });

const chatStream = Object.assign({}, chat, { stream: true });

// Anthropic messages, streaming, same conversation as the 1.5 KB chat.
const anth = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  stream: true,
  system: chat.messages[0].content,
  messages: chat.messages.slice(1).map((m) => ({ role: m.role, content: m.content })),
  tools: [{ name: 'get_weather', description: 'Weather for a city',
    input_schema: chat.tools[0].function.parameters }],
};

const files = {
  'chat-1k5.json': chatJson,
  'conv-200k.json': JSON.stringify(conv),
  'conv-1m.json': JSON.stringify(conv1m),
  'chat-stream.json': JSON.stringify(chatStream),
  'anthropic-stream.json': JSON.stringify(anth),
};
for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(out, name), body);
