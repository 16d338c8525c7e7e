//! Typed errors: each variant names the rule of W3C Trace Context it enforces.

use std::fmt;

/// Why a `traceparent` (or a set of trace context headers) was not accepted.
///
/// Every variant maps to one rule of
/// [W3C Trace Context §3.2](https://www.w3.org/TR/trace-context-2/#traceparent-header).
/// A request whose `traceparent` fails any rule starts a new trace, and its
/// `tracestate` is not parsed.
///
/// ```
/// use tower_trace_context::{TraceParent, TraceParentError};
///
/// let err = TraceParent::parse(b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").unwrap_err();
/// assert_eq!(err, TraceParentError::InvalidTraceId);
/// assert_eq!(err.to_string(), "traceparent: trace-id is not 32 lowercase hex digits");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceParentError {
    /// The request carries no `traceparent` field.
    Missing,
    /// The request carries two or more `traceparent` fields (§3.2: a vendor
    /// MUST treat more than one as invalid).
    Duplicate,
    /// The version is not two lowercase hex digits.
    InvalidVersion,
    /// The version is `ff`, which the specification forbids.
    ForbiddenVersion,
    /// The value is shorter than the 55 bytes every version needs.
    TooShort,
    /// A version `00` value carries bytes after the flags, or a higher
    /// version's 56th byte is not `-`.
    TrailingData,
    /// A `-` is missing at byte 2, 35 or 52.
    MissingDash,
    /// The trace-id is not 32 lowercase hex digits.
    InvalidTraceId,
    /// The trace-id is all zeros.
    ZeroTraceId,
    /// The parent-id is not 16 lowercase hex digits.
    InvalidParentId,
    /// The parent-id is all zeros.
    ZeroParentId,
    /// The trace-flags are not two lowercase hex digits.
    InvalidFlags,
}

impl TraceParentError {
    /// A short, stable, machine-friendly name for the rule (for logs and
    /// metrics labels).
    ///
    /// ```
    /// use tower_trace_context::TraceParentError;
    /// assert_eq!(TraceParentError::Duplicate.as_str(), "duplicate");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Duplicate => "duplicate",
            Self::InvalidVersion => "invalid_version",
            Self::ForbiddenVersion => "forbidden_version",
            Self::TooShort => "too_short",
            Self::TrailingData => "trailing_data",
            Self::MissingDash => "missing_dash",
            Self::InvalidTraceId => "invalid_trace_id",
            Self::ZeroTraceId => "zero_trace_id",
            Self::InvalidParentId => "invalid_parent_id",
            Self::ZeroParentId => "zero_parent_id",
            Self::InvalidFlags => "invalid_flags",
        }
    }
}

impl fmt::Display for TraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self {
            Self::Missing => "no traceparent field",
            Self::Duplicate => "more than one traceparent field",
            Self::InvalidVersion => "version is not 2 lowercase hex digits",
            Self::ForbiddenVersion => "version ff is forbidden",
            Self::TooShort => "shorter than 55 bytes",
            Self::TrailingData => {
                "data after trace-flags (not allowed for version 00; must start with '-' otherwise)"
            }
            Self::MissingDash => "'-' expected at bytes 2, 35 and 52",
            Self::InvalidTraceId => "trace-id is not 32 lowercase hex digits",
            Self::ZeroTraceId => "trace-id is all zeros",
            Self::InvalidParentId => "parent-id is not 16 lowercase hex digits",
            Self::ZeroParentId => "parent-id is all zeros",
            Self::InvalidFlags => "trace-flags are not 2 lowercase hex digits",
        };
        write!(f, "traceparent: {rule}")
    }
}

impl std::error::Error for TraceParentError {}

/// Why a `tracestate` was discarded (the `traceparent` is kept).
///
/// Rules from [W3C Trace Context §3.3](https://www.w3.org/TR/trace-context-2/#tracestate-header).
/// `member` counts non-empty list members from 0, across all `tracestate`
/// fields combined in order.
///
/// ```
/// use tower_trace_context::{TraceStateError, TraceStateView};
///
/// let err = TraceStateView::parse("a=1,B=2").unwrap_err();
/// assert_eq!(err, TraceStateError::InvalidKey { member: 1 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceStateError {
    /// More than 32 list members.
    TooManyMembers,
    /// A member has no `=`.
    MissingEquals {
        /// Index of the offending member.
        member: u8,
    },
    /// A key breaks `(lcalpha / DIGIT) 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@")`.
    InvalidKey {
        /// Index of the offending member.
        member: u8,
    },
    /// A value is empty, longer than 256 characters, ends in a space, or has a
    /// character outside printable ASCII or a `,` / `=`.
    InvalidValue {
        /// Index of the offending member.
        member: u8,
    },
}

impl TraceStateError {
    /// A short, stable name for the rule.
    ///
    /// ```
    /// use tower_trace_context::TraceStateError;
    /// assert_eq!(TraceStateError::TooManyMembers.as_str(), "too_many_members");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::TooManyMembers => "too_many_members",
            Self::MissingEquals { .. } => "missing_equals",
            Self::InvalidKey { .. } => "invalid_key",
            Self::InvalidValue { .. } => "invalid_value",
        }
    }
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyMembers => f.write_str("tracestate: more than 32 list members"),
            Self::MissingEquals { member } => {
                write!(f, "tracestate: member {member} has no '='")
            }
            Self::InvalidKey { member } => {
                write!(f, "tracestate: member {member} has an invalid key")
            }
            Self::InvalidValue { member } => {
                write!(f, "tracestate: member {member} has an invalid value")
            }
        }
    }
}

impl std::error::Error for TraceStateError {}

/// Why a `baggage` header was dropped (the trace context is kept).
///
/// Rules from [W3C Baggage §3](https://www.w3.org/TR/baggage/#header-content).
/// `member` counts non-empty list members from 0, across all `baggage`
/// fields combined in order.
///
/// ```
/// use tower_trace_context::{BaggageError, BaggageView};
///
/// let err = BaggageView::parse("a=1,b c=2").unwrap_err();
/// assert_eq!(err, BaggageError::InvalidKey { member: 1 });
/// assert_eq!(err.to_string(), "baggage: member 1 has a key that is not a token");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BaggageError {
    /// The combined value is longer than 8192 bytes.
    TooLong,
    /// More than 64 list members.
    TooManyMembers,
    /// A key is not an RFC 9110 token.
    InvalidKey {
        /// Index of the offending member.
        member: u8,
    },
    /// A member has no `=` after its key.
    MissingEquals {
        /// Index of the offending member.
        member: u8,
    },
    /// A value has a character outside `baggage-octet` (controls, spaces
    /// inside it, `"`, `,`, `;`, `\`, non-ASCII).
    InvalidValue {
        /// Index of the offending member.
        member: u8,
    },
    /// A `%` in a value does not start a percent-encoded octet.
    InvalidPercent {
        /// Index of the offending member.
        member: u8,
    },
    /// A property after `;` is not `key` or `key=value`.
    InvalidProperty {
        /// Index of the offending member.
        member: u8,
    },
}

impl BaggageError {
    /// A short, stable name for the rule.
    ///
    /// ```
    /// use tower_trace_context::BaggageError;
    /// assert_eq!(BaggageError::TooLong.as_str(), "too_long");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::TooManyMembers => "too_many_members",
            Self::InvalidKey { .. } => "invalid_key",
            Self::MissingEquals { .. } => "missing_equals",
            Self::InvalidValue { .. } => "invalid_value",
            Self::InvalidPercent { .. } => "invalid_percent",
            Self::InvalidProperty { .. } => "invalid_property",
        }
    }
}

impl fmt::Display for BaggageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (member, rule) = match self {
            Self::TooLong => return f.write_str("baggage: longer than 8192 bytes"),
            Self::TooManyMembers => return f.write_str("baggage: more than 64 list members"),
            Self::InvalidKey { member } => (member, "has a key that is not a token"),
            Self::MissingEquals { member } => (member, "has no '=' after its key"),
            Self::InvalidValue { member } => (member, "has an invalid value"),
            Self::InvalidPercent { member } => (member, "has a '%' not followed by two hex digits"),
            Self::InvalidProperty { member } => (member, "has an invalid property"),
        };
        write!(f, "baggage: member {member} {rule}")
    }
}

impl std::error::Error for BaggageError {}

/// A configuration value was rejected.
///
/// ```
/// use tower_trace_context::{ConfigError, server::ServerTimingName};
/// assert!(matches!(ServerTimingName::new(""), Err(ConfigError::InvalidToken(_))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not an RFC 9110 token (empty, or a character outside `tchar`).
    InvalidToken(String),
    /// Not a serialized origin (`scheme://host[:port]`, no path, no `*`).
    InvalidOrigin(String),
    /// Not a Sentry DSN (`{PROTOCOL}://{PUBLIC_KEY}[:{SECRET_KEY}]@{HOST}[:{PORT}][/{PATH}]/{PROJECT_ID}`):
    /// which part is wrong. The DSN itself is not repeated, as it may hold a
    /// secret key.
    InvalidDsn(&'static str),
    /// Not an IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`) with
    /// zero host bits.
    InvalidNetwork(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidToken(s) => write!(f, "not an HTTP token: {s:?}"),
            Self::InvalidOrigin(s) => write!(f, "not a serialized origin: {s:?}"),
            Self::InvalidDsn(why) => write!(f, "not a Sentry DSN: {why}"),
            Self::InvalidNetwork(s) => write!(f, "not an IP network in CIDR notation: {s:?}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why an allowlist could not be built.
///
/// ```
/// use tower_trace_context::{AllowlistError, client::Allowlist};
/// let err = Allowlist::builder().origin("https://a.example/path").build().unwrap_err();
/// assert!(matches!(err, AllowlistError::InvalidOrigin { .. }));
/// assert_eq!(err.to_string(), r#"invalid origin "https://a.example/path": has a path"#);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AllowlistError {
    /// Not `scheme://host[:port]` (no userinfo, path, query or fragment).
    InvalidOrigin {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a host name or IP literal.
    InvalidHost {
        /// The rule as given.
        rule: String,
    },
    /// Not an absolute `scheme://host[:port]/path` URL prefix.
    InvalidPrefix {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not an absolute URL without userinfo or fragment (an exact-URL rule).
    InvalidUrl {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The regex does not compile (feature `regex`).
    #[cfg(feature = "regex")]
    InvalidRegex {
        /// The rule as given.
        rule: String,
        /// The regex engine's error.
        error: RegexError,
    },
}

impl fmt::Display for AllowlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidOrigin { rule, reason } => write!(f, "invalid origin {rule:?}: {reason}"),
            Self::InvalidHost { rule } => write!(f, "invalid host {rule:?}"),
            Self::InvalidPrefix { rule, reason } => {
                write!(f, "invalid URL prefix {rule:?}: {reason}")
            }
            Self::InvalidUrl { rule, reason } => write!(f, "invalid URL {rule:?}: {reason}"),
            #[cfg(feature = "regex")]
            Self::InvalidRegex { rule, error } => write!(f, "invalid regex {rule:?}: {error}"),
        }
    }
}

impl std::error::Error for AllowlistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "regex")]
            Self::InvalidRegex { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a regex allowlist rule did not compile (feature `regex`): the
/// message of the regex engine, without its types in this crate's API.
#[cfg(feature = "regex")]
#[derive(Debug)]
pub struct RegexError(Box<dyn std::error::Error + Send + Sync>);

#[cfg(feature = "regex")]
impl RegexError {
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

#[cfg(feature = "regex")]
impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(feature = "regex")]
impl std::error::Error for RegexError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
