//! Splitting a byte stream into lines under a size cap, with a small, fixed amount of memory.
//!
//! A line is kept in memory up to [`SPILL_AT`] bytes; a longer one streams into an unlinked
//! temporary file (nothing is left on disk, whatever happens), so while it streams cas holds
//! only the read chunk. Once a line passes the cap its bytes are counted and dropped; when its
//! newline comes (or input ends) it is reported by its size alone. Only a line that ends within
//! the cap is read back, to be decoded.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// Lines up to this many bytes stay in memory; longer ones stream to a temporary file.
pub(crate) const SPILL_AT: usize = 4 << 20;

/// What one step of splitting produced.
#[derive(Debug)]
pub(crate) enum Piece {
    /// A whole line, without its `\n`.
    Line(Vec<u8>),
    /// A line over the cap, skipped; its size in bytes (newline included).
    Oversized(u64),
    /// A long line that could not be set aside on disk; its size so far, and why.
    Unstored(u64, std::io::Error),
}

/// Where the current line's bytes are.
enum Held {
    /// In memory.
    Memory(Vec<u8>),
    /// In an unlinked temporary file, with its length.
    Spilled(File, usize),
    /// Nowhere: the line is over the cap (or could not be stored); bytes seen so far.
    Skipping(u64, Option<std::io::Error>),
}

/// Splits chunks of input into lines of at most `cap` bytes.
pub(crate) struct LineSplitter {
    cap: usize,
    spill_at: usize,
    held: Held,
}

impl LineSplitter {
    /// A splitter that keeps lines of at most `cap` bytes (newline excluded).
    pub(crate) fn new(cap: usize) -> LineSplitter {
        LineSplitter::with_spill(cap, SPILL_AT)
    }

    /// Like [`LineSplitter::new`], with lines over `spill_at` bytes set aside on disk.
    pub(crate) fn with_spill(cap: usize, spill_at: usize) -> LineSplitter {
        LineSplitter {
            cap,
            spill_at,
            held: Held::Memory(Vec::new()),
        }
    }

    /// Takes bytes from the front of `chunk` up to and including the first newline (or all of
    /// it when there is none); returns how many were taken and the piece completed, if any.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> (usize, Option<Piece>) {
        let newline = chunk.iter().position(|b| *b == b'\n');
        let body = &chunk[..newline.unwrap_or(chunk.len())];
        let taken = newline.map_or(chunk.len(), |i| i + 1);
        self.hold(body, taken);
        if newline.is_none() {
            return (taken, None);
        }
        (taken, Some(self.finish()))
    }

    /// Adds `body` (of a chunk of `taken` bytes, newline included) to the current line.
    fn hold(&mut self, body: &[u8], taken: usize) {
        let held = std::mem::replace(&mut self.held, Held::Skipping(0, None));
        self.held = match held {
            Held::Skipping(seen, error) => Held::Skipping(seen + taken as u64, error),
            Held::Memory(line) if line.len() + body.len() > self.cap => {
                Held::Skipping((line.len() + taken) as u64, None)
            }
            Held::Spilled(_, len) if len + body.len() > self.cap => {
                Held::Skipping((len + taken) as u64, None)
            }
            Held::Memory(mut line) if line.len() + body.len() <= self.spill_at => {
                line.extend_from_slice(body);
                Held::Memory(line)
            }
            Held::Memory(line) => match spill(&line, body) {
                Ok(file) => Held::Spilled(file, line.len() + body.len()),
                Err(e) => Held::Skipping((line.len() + taken) as u64, Some(e)),
            },
            Held::Spilled(mut file, len) => match file.write_all(body) {
                Ok(()) => Held::Spilled(file, len + body.len()),
                Err(e) => Held::Skipping((len + taken) as u64, Some(e)),
            },
        };
    }

    /// Ends input: the unterminated last line, if there is one.
    pub(crate) fn end(&mut self) -> Option<Piece> {
        if matches!(&self.held, Held::Memory(line) if line.is_empty()) {
            return None;
        }
        Some(self.finish())
    }

    fn finish(&mut self) -> Piece {
        match std::mem::replace(&mut self.held, Held::Memory(Vec::new())) {
            Held::Skipping(size, None) => Piece::Oversized(size),
            Held::Skipping(size, Some(e)) => Piece::Unstored(size, e),
            Held::Spilled(file, len) => match read_back(file, len) {
                Ok(line) => Piece::Line(line),
                Err(e) => Piece::Unstored(len as u64, e),
            },
            Held::Memory(line) if line.capacity() > LINE_KEEP => Piece::Line(line),
            Held::Memory(mut line) => {
                let out = line.clone();
                line.clear();
                self.held = Held::Memory(line);
                Piece::Line(out)
            }
        }
    }
}

/// A new unlinked temporary file holding `head` then `body`.
fn spill(head: &[u8], body: &[u8]) -> std::io::Result<File> {
    let mut file = tempfile::tempfile()?;
    file.write_all(head)?;
    file.write_all(body)?;
    Ok(file)
}

/// The `len` bytes written to `file`.
fn read_back(mut file: File, len: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut line = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut line)?;
    Ok(line)
}

/// Up to this capacity the line buffer is reused; a larger one is handed over and not kept.
const LINE_KEEP: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    /// What a piece is, comparably: a line's text, or a skipped line's size.
    #[derive(Debug, PartialEq, Eq)]
    enum Got {
        Line(Vec<u8>),
        Skipped(u64),
    }

    fn split(cap: usize, spill_at: usize, chunks: &[&[u8]]) -> Vec<Got> {
        let mut s = LineSplitter::with_spill(cap, spill_at);
        let mut out = Vec::new();
        let mut push = |piece: Piece| match piece {
            Piece::Line(line) => out.push(Got::Line(line)),
            Piece::Oversized(size) => out.push(Got::Skipped(size)),
            Piece::Unstored(size, e) => panic!("line of {size} bytes not stored: {e}"),
        };
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let (n, piece) = s.feed(rest);
                piece.into_iter().for_each(&mut push);
                rest = &rest[n..];
            }
        }
        s.end().into_iter().for_each(&mut push);
        out
    }

    #[test]
    fn lines_over_the_cap_are_skipped_by_size_and_the_rest_kept() {
        let pieces = split(4, 100, &[b"ab\nabcd", b"e", b"fg\nxy\n", b"123456789"]);
        assert_eq!(
            pieces,
            vec![
                Got::Line(b"ab".to_vec()),
                Got::Skipped(8),
                Got::Line(b"xy".to_vec()),
                Got::Skipped(9),
            ]
        );
    }

    #[test]
    fn a_line_of_exactly_the_cap_is_kept_and_a_last_line_without_newline_too() {
        let pieces = split(4, 100, &[b"abcd\n", b"", b"xyz"]);
        assert_eq!(
            pieces,
            vec![Got::Line(b"abcd".to_vec()), Got::Line(b"xyz".to_vec())]
        );
    }

    #[test]
    fn long_lines_go_through_the_spill_file_and_come_back_whole_or_skipped() {
        let pieces = split(
            10,
            3,
            &[b"abcd", b"efgh\nab\n", b"0123456789", b"x\nlast12", b"345"],
        );
        assert_eq!(
            pieces,
            vec![
                Got::Line(b"abcdefgh".to_vec()),
                Got::Line(b"ab".to_vec()),
                Got::Skipped(12),
                Got::Line(b"last12345".to_vec()),
            ]
        );
    }
}
