//! A fixed stack buffer written left to right, for encoders that build a
//! header value without allocating.

/// Appends to a fixed buffer; a write that does not fit marks it
/// overflowed (nothing after it is written), so it never panics.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflow: bool,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            overflow: false,
        }
    }

    /// How many bytes are written.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(bytes);
                self.len = end;
            }
            _ => self.overflow = true,
        }
    }

    /// The written bytes, or `None` after an overflow.
    pub(crate) fn finish(self) -> Option<&'b [u8]> {
        let buf: &'b [u8] = self.buf;
        match self.overflow {
            true => None,
            false => buf.get(..self.len),
        }
    }
}
