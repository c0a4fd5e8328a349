//! Splitting a byte stream into lines under a size cap, without ever holding more than the cap.
//!
//! A line longer than the cap is skipped as it streams: its bytes are counted and dropped, and
//! once its newline comes (or input ends) it is reported by its size alone.

/// What one step of splitting produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A whole line, without its `\n`.
    Line(Vec<u8>),
    /// A line over the cap, skipped; its size in bytes (newline included).
    Oversized(u64),
}

/// Splits chunks of input into lines of at most `cap` bytes.
pub(crate) struct LineSplitter {
    cap: usize,
    line: Vec<u8>,
    /// Bytes of the current oversized line seen so far, while one is being skipped.
    skipping: Option<u64>,
}

impl LineSplitter {
    /// A splitter that keeps lines of at most `cap` bytes (newline excluded).
    pub(crate) fn new(cap: usize) -> LineSplitter {
        LineSplitter {
            cap,
            line: Vec::new(),
            skipping: None,
        }
    }

    /// Takes bytes from the front of `chunk` up to and including the first newline (or all of
    /// it when there is none); returns how many were taken and the piece completed, if any.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> (usize, Option<Piece>) {
        let newline = chunk.iter().position(|b| *b == b'\n');
        let body = &chunk[..newline.unwrap_or(chunk.len())];
        let taken = newline.map_or(chunk.len(), |i| i + 1);
        if let Some(seen) = &mut self.skipping {
            *seen += taken as u64;
        } else if self.line.len() + body.len() > self.cap {
            self.skipping = Some((self.line.len() + taken) as u64);
            // Give the memory back at once: a skipped line keeps nothing.
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(body);
        }
        if newline.is_none() {
            return (taken, None);
        }
        (taken, Some(self.finish()))
    }

    /// Ends input: the unterminated last line, if there is one.
    pub(crate) fn end(&mut self) -> Option<Piece> {
        if self.skipping.is_none() && self.line.is_empty() {
            return None;
        }
        Some(self.finish())
    }

    fn finish(&mut self) -> Piece {
        match self.skipping.take() {
            Some(size) => Piece::Oversized(size),
            None if self.line.capacity() > LINE_KEEP => Piece::Line(std::mem::take(&mut self.line)),
            None => {
                let line = self.line.clone();
                self.line.clear();
                Piece::Line(line)
            }
        }
    }
}

/// Up to this capacity the line buffer is reused; a larger one is handed over and not kept.
const LINE_KEEP: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn split(cap: usize, chunks: &[&[u8]]) -> Vec<Piece> {
        let mut s = LineSplitter::new(cap);
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let (n, piece) = s.feed(rest);
                out.extend(piece);
                rest = &rest[n..];
            }
        }
        out.extend(s.end());
        out
    }

    #[test]
    fn lines_over_the_cap_are_skipped_by_size_and_the_rest_kept() {
        let pieces = split(4, &[b"ab\nabcd", b"e", b"fg\nxy\n", b"123456789"]);
        assert_eq!(
            pieces,
            vec![
                Piece::Line(b"ab".to_vec()),
                Piece::Oversized(8),
                Piece::Line(b"xy".to_vec()),
                Piece::Oversized(9),
            ]
        );
    }

    #[test]
    fn a_line_of_exactly_the_cap_is_kept_and_a_last_line_without_newline_too() {
        let pieces = split(4, &[b"abcd\n", b"", b"xyz"]);
        assert_eq!(
            pieces,
            vec![Piece::Line(b"abcd".to_vec()), Piece::Line(b"xyz".to_vec())]
        );
    }
}
