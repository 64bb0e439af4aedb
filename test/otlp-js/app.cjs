// An application that knows nothing of OpsCentre: the official OpenAI client, instrumented
// by the stock OpenTelemetry packages, exporting OTLP/HTTP protobuf wherever the standard
// OTEL_EXPORTER_OTLP_* variables say. exporter/app/otlp_js_test.go runs it against the real
// aiops_exporter and a fake OpenAI-compatible server (OPENAI_BASE_URL).
'use strict';

const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');

const sdk = new NodeSDK({
  serviceName: 'js-chat',
  traceExporter: new OTLPTraceExporter(),
  instrumentations: [new OpenAIInstrumentation()],
});
sdk.start();

// Required after the SDK started, so the instrumentation patches it.
const { OpenAI } = require('openai');

async function main() {
  const calls = Number(process.env.CALLS || 10);
  // No retries: each call is one request, so the test can count exactly.
  const client = new OpenAI({ apiKey: 'test', maxRetries: 0 });
  const summary = { ok: 0, failed: 0 };
  for (let i = 0; i < calls; i++) {
    try {
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `question ${i}` }],
      });
      summary.ok++;
    } catch (err) {
      summary.failed++;
    }
  }
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
  await sdk.shutdown(); // flushes the batch span processor
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
