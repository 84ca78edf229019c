//! Byte-level helpers for the wire formats: LEB128 varints, zig-zag for signed numbers, and a
//! bounds-checked reader that returns errors instead of panicking on any input.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the input ended inside a field")]
    Truncated,
    #[error("a varint is longer than its type allows")]
    VarintOverflow,
    #[error("unknown tag {0}")]
    UnknownTag(u8),
    #[error("a string is not UTF-8 or is longer than {max} bytes")]
    BadString { max: usize },
    #[error("frame of {0} bytes exceeds the limit")]
    FrameTooLong(usize),
    #[error("stream header is not mpviz's (magic or version mismatch)")]
    BadHeader,
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_ivarint(out: &mut Vec<u8>, v: i128) {
    put_uvarint(out, ((v << 1) ^ (v >> 127)) as u128);
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    let bytes = &s.as_bytes()[..s.len().min(MAX_STR)];
    // Cut on a char boundary so the receiver always gets valid UTF-8.
    let mut end = bytes.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    put_uvarint(out, end as u128);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// Longest string carried in one event (longer output is cut, never split across frames).
pub const MAX_STR: usize = 4096;

/// Reads fields from a byte slice; every accessor checks bounds.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    pub fn uvarint(&mut self) -> Result<u128, DecodeError> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = self.u8()?;
            let part = (b & 0x7f) as u128;
            if shift == 126 && part > 0b11 {
                return Err(DecodeError::VarintOverflow);
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        u64::try_from(self.uvarint()?).map_err(|_| DecodeError::VarintOverflow)
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.uvarint()?).map_err(|_| DecodeError::VarintOverflow)
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        u16::try_from(self.uvarint()?).map_err(|_| DecodeError::VarintOverflow)
    }

    pub fn ivarint(&mut self) -> Result<i128, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i128) ^ -((u & 1) as i128))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        i64::try_from(self.ivarint()?).map_err(|_| DecodeError::VarintOverflow)
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        i32::try_from(self.ivarint()?).map_err(|_| DecodeError::VarintOverflow)
    }

    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.uvarint()?;
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_STR)
            .ok_or(DecodeError::BadString { max: MAX_STR })?;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::BadString { max: MAX_STR })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0i128,
            1,
            -1,
            63,
            -64,
            64,
            i64::MAX as i128,
            i128::MAX,
            i128::MIN,
        ] {
            let mut out = Vec::new();
            put_ivarint(&mut out, v);
            assert_eq!(Reader::new(&out).ivarint(), Ok(v));
        }
        let mut out = Vec::new();
        put_uvarint(&mut out, u128::MAX);
        assert_eq!(Reader::new(&out).uvarint(), Ok(u128::MAX));
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let bytes = [0xffu8; 20];
        assert_eq!(
            Reader::new(&bytes).uvarint(),
            Err(DecodeError::VarintOverflow)
        );
    }

    #[test]
    fn strings_are_cut_on_char_boundaries() {
        let s = "é".repeat(3000);
        let mut out = Vec::new();
        put_str(&mut out, &s);
        let back = Reader::new(&out).string().expect("valid");
        assert!(back.len() <= MAX_STR && s.starts_with(&back));
    }
}
