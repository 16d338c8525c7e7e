import { WebTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-web';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
window.OTel = { WebTracerProvider, SimpleSpanProcessor, InMemorySpanExporter, registerInstrumentations, DocumentLoadInstrumentation, FetchInstrumentation };
