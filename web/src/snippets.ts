// web/src/snippets.ts: ready-to-paste client configurations for the gateway's base URL and key:
// curl, the OpenAI / Anthropic / Google SDKs, Claude Code, Codex CLI and Gemini CLI.

export interface Snippet {
  id: string;
  title: string;
  lang: string;
  code: string;
}

export function snippets(baseUrl: string, key: string, model = 'gemini-2.5-flash', claudeModel = 'claude-sonnet-4-5'): Snippet[] {
  const b = baseUrl.replace(/\/+$/, '');
  return [
    {
      id: 'curl',
      title: 'curl',
      lang: 'sh',
      code: `curl ${b}/v1/chat/completions \\
  -H "Authorization: Bearer ${key}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`,
    },
    {
      id: 'openai',
      title: 'OpenAI SDK (Python)',
      lang: 'python',
      code: `from openai import OpenAI

client = OpenAI(base_url="${b}/v1", api_key="${key}")
r = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)
print(r.choices[0].message.content)`,
    },
    {
      id: 'openai-node',
      title: 'OpenAI SDK (Node)',
      lang: 'js',
      code: `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${b}/v1', apiKey: '${key}' });
const r = await client.chat.completions.create({
  model: '${model}',
  messages: [{ role: 'user', content: 'Hello' }],
});
console.log(r.choices[0].message.content);`,
    },
    {
      id: 'anthropic',
      title: 'Anthropic SDK (Python)',
      lang: 'python',
      code: `import anthropic

client = anthropic.Anthropic(base_url="${b}", api_key="${key}")
m = client.messages.create(
    model="${claudeModel}",
    max_tokens=1024,
    messages=[{"role": "user", "content": "Hello"}],
)
print(m.content[0].text)`,
    },
    {
      id: 'google',
      title: 'Google Gen AI SDK (Python)',
      lang: 'python',
      code: `from google import genai

client = genai.Client(api_key="${key}", http_options={"base_url": "${b}"})
r = client.models.generate_content(model="${model}", contents="Hello")
print(r.text)`,
    },
    {
      id: 'claude-code',
      title: 'Claude Code',
      lang: 'sh',
      code: `export ANTHROPIC_BASE_URL="${b}"
export ANTHROPIC_AUTH_TOKEN="${key}"
export ANTHROPIC_MODEL="${claudeModel}"
claude`,
    },
    {
      id: 'codex',
      title: 'Codex CLI',
      lang: 'toml',
      code: `# ~/.codex/config.toml
model = "${model}"
model_provider = "aigate"

[model_providers.aigate]
name = "aigate"
base_url = "${b}/v1"
env_key = "AIGATE_API_KEY"
wire_api = "responses"

# then: export AIGATE_API_KEY="${key}"; codex`,
    },
    {
      id: 'gemini-cli',
      title: 'Gemini CLI',
      lang: 'sh',
      code: `export GOOGLE_GEMINI_BASE_URL="${b}"
export GEMINI_API_KEY="${key}"
gemini -m ${model}`,
    },
  ];
}
