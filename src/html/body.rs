//! The response body that inserts the tags while streaming.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::html::HEAD_SEARCH_LIMIT;
use crate::html::scan::Scan;

pin_project! {
    /// A body that inserts bytes after the opening `<head ...>` tag.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        tags: Option<Bytes>,
        scan: Scan,
        scanned: usize,
        // Bytes still to emit before polling `inner` again.
        pending: [Option<Bytes>; 2],
    }
}

impl<B> ResponseBody<B> {
    pub(super) fn new(inner: B, tags: Option<Bytes>) -> Self {
        let scan = if tags.is_some() {
            Scan::Text
        } else {
            Scan::Done
        };
        Self {
            inner,
            tags,
            scan,
            scanned: 0,
            pending: [None, None],
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("scan", &self.scan)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        for slot in this.pending.iter_mut() {
            if let Some(bytes) = slot.take() {
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
        }
        let Some(frame) = ready!(this.inner.poll_frame(cx)) else {
            return Poll::Ready(None);
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => return Poll::Ready(Some(Err(err))),
        };
        let mut data = match frame.into_data() {
            Ok(mut data) => data.copy_to_bytes(data.remaining()),
            Err(frame) => {
                // Trailers: nothing more to scan.
                *this.scan = Scan::Done;
                return Poll::Ready(Some(Ok(
                    frame.map_data(|mut d| d.copy_to_bytes(d.remaining()))
                )));
            }
        };
        if *this.scan == Scan::Done {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        let window = (HEAD_SEARCH_LIMIT - *this.scanned).min(data.len());
        match this.scan.feed(&data[..window]) {
            Some(at) => {
                *this.scan = Scan::Done;
                let rest = data.split_off(at);
                this.pending[0] = this.tags.take();
                this.pending[1] = (!rest.is_empty()).then_some(rest);
            }
            None => {
                *this.scanned += window;
                if *this.scanned >= HEAD_SEARCH_LIMIT {
                    *this.scan = Scan::Done;
                }
            }
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.iter().all(Option::is_none) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Pending bytes are certain; the tags may or may not be inserted.
        let inner = self.inner.size_hint();
        let pending: u64 = self.pending.iter().flatten().map(|b| b.len() as u64).sum();
        let tags = self.tags.as_ref().map_or(0, |t| t.len() as u64);
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(pending));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(pending).saturating_add(tags));
        }
        hint
    }
}
