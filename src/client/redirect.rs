//! Redirects: trace headers must not follow a redirect to a URL the
//! allowlist denies.
//!
//! A client that follows redirects itself (reqwest does, up to 10; so does
//! tower-http's `FollowRedirect` placed inside the layer) sends the next hop
//! the headers of the first, trace headers included: the layer never sees
//! that hop. Two guards:
//!
//! - [`PropagateLayer::redirect_policy`](crate::client::PropagateLayer::redirect_policy)
//!   (feature `reqwest`): a reqwest redirect policy that does not follow a
//!   redirect carrying trace headers to a URL the allowlist denies; the 3xx
//!   response is returned as it came.
//! - The layer checks the URL a response says it came from
//!   ([`OutgoingResponse::final_url`](crate::client::OutgoingResponse::final_url)):
//!   a denied one after trace headers went out means a redirect leaked them,
//!   and it logs a `WARN` (once per process).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::{ClientSpan, UrlParts};

/// Logs once per process when a response came from a URL the allowlist
/// denies although trace headers went out with the request: the client
/// followed a redirect with them.
pub(crate) fn check_final_url(span: &ClientSpan, url: Option<UrlParts<'_>>) {
    let (Some(allow), Some(url)) = (&span.sent, url) else {
        return;
    };
    if allow.matches(&url) {
        return;
    }
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_trace_context",
            host = url.host(),
            "a response came from a URL the client layer's allowlist denies, although the \
             request carried trace headers: the HTTP client followed a redirect with them. \
             Build a reqwest client with PropagateLayer::redirect_policy, or put tower-http's \
             FollowRedirectLayer outside PropagateLayer (logged once)"
        );
    }
}

#[cfg(feature = "reqwest")]
pub(crate) use policy::policy;

#[cfg(feature = "reqwest")]
mod policy {
    use std::sync::atomic::{AtomicBool, Ordering};

    use reqwest::redirect::{Attempt, Policy};

    use crate::client::{Allowlist, UrlParts};

    /// `base`, but a redirect is not followed when the first request went
    /// to an allowlisted URL (so it carries trace headers, which reqwest
    /// keeps on every hop) and the next hop is denied.
    pub(crate) fn policy(allow: Allowlist, base: Policy) -> Policy {
        Policy::custom(move |attempt: Attempt<'_>| {
            let allowed = |url: &reqwest::Url| {
                UrlParts::from_url(url).is_some_and(|parts| allow.matches(&parts))
            };
            let sent = attempt.previous().first().is_some_and(allowed);
            if sent && !allowed(attempt.url()) {
                stopped(attempt.url());
                return attempt.stop();
            }
            base.redirect(attempt)
        })
    }

    fn stopped(url: &reqwest::Url) {
        let host = url.host_str().unwrap_or_default();
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "tower_trace_context",
                host,
                "a redirect to a URL the client layer's allowlist denies was not followed: the \
                 request carries trace headers, which reqwest would send there; the 3xx \
                 response is returned (send a new request to its Location through the layer \
                 to follow it without them; logged once, then at DEBUG)"
            );
        } else {
            tracing::debug!(
                target: "tower_trace_context",
                host,
                "redirect not followed: the allowlist denies trace headers to its target"
            );
        }
    }
}
