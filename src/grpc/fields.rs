//! The span fields of a gRPC call, the same on the server and the client
//! span (OpenTelemetry semantic conventions for gRPC).

use opentelemetry::KeyValue;

/// The span name of a call: `{package.Service}/{Method}`, the path without
/// its leading `/`.
pub(crate) fn span_name(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The call's attributes as OpenTelemetry key-values: `rpc.system` and
/// `rpc.system.name` (`grpc`), and, with `fields` (a span that does not
/// declare them as `tracing` fields), `rpc.service` and `rpc.method`.
pub(crate) fn attributes(service: &str, method: &str, fields: bool, out: &mut Vec<KeyValue>) {
    out.push(KeyValue::new("rpc.system", "grpc"));
    out.push(KeyValue::new("rpc.system.name", "grpc"));
    if fields {
        out.push(KeyValue::new("rpc.service", service.to_owned()));
        out.push(KeyValue::new("rpc.method", method.to_owned()));
    }
}

/// A gRPC `tracing` span at `INFO`: `otel.kind`, `otel.name`,
/// `rpc.service`, `rpc.method`, the status fields
/// the recorder fills in (`rpc.grpc.status_code`,
/// `rpc.response.status_code`, `http.response.status_code`,
/// `otel.status_code`, `otel.status_description`, `error.type`), and any
/// extra fields.
macro_rules! grpc_span {
    ($name:literal, $kind:literal, $otel_name:expr, $service:expr, $method:expr $(, $($extra:tt)+)?) => {
        tracing::info_span!(
            $name,
            otel.kind = $kind,
            otel.name = $otel_name,
            rpc.service = $service,
            rpc.method = $method,
            rpc.grpc.status_code = tracing::field::Empty,
            rpc.response.status_code = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
            error.type = tracing::field::Empty,
            $($($extra)+)?
        )
    };
}
pub(crate) use grpc_span;
