//! The protobuf wire format, as far as reading ONNX files needs it: varints, fixed-width
//! scalars, length-delimited fields, and repeated scalars written packed or one per field.
//! Every read is bounds-checked; malformed bytes give an [`OnnxError`], never a panic.

use super::OnnxError;

/// One field's payload, by wire type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64([u8; 8]),
    /// Wire type 2: a string, bytes, a nested message or a packed repeated scalar.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32([u8; 4]),
}

/// Reads the fields of one message in order.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The message's name, for error messages.
    what: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }

    fn truncated(&self) -> OnnxError {
        OnnxError::Malformed(format!("{} ends inside a field", self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], OnnxError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.truncated())?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.truncated())?;
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, OnnxError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first().ok_or_else(|| self.truncated())?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(OnnxError::Malformed(format!(
            "{}: a varint longer than 10 bytes",
            self.what
        )))
    }

    /// The next field as (field number, value), or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, OnnxError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(self.take(8)?.try_into().map_err(|_| self.truncated())?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| self.truncated())?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(self.take(4)?.try_into().map_err(|_| self.truncated())?),
            other => {
                return Err(OnnxError::Malformed(format!(
                    "{}: field {number} has wire type {other}, which ONNX never uses",
                    self.what
                )))
            }
        };
        Ok(Some((number, value)))
    }
}

impl<'a> Value<'a> {
    fn wrong(&self, what: &str) -> OnnxError {
        OnnxError::Malformed(format!("{what} has an unexpected wire type ({self:?})"))
    }

    /// A length-delimited payload (string, bytes, message).
    pub(crate) fn bytes(self, what: &str) -> Result<&'a [u8], OnnxError> {
        match self {
            Value::Bytes(b) => Ok(b),
            v => Err(v.wrong(what)),
        }
    }

    /// A UTF-8 string.
    pub(crate) fn string(self, what: &str) -> Result<String, OnnxError> {
        String::from_utf8(self.bytes(what)?.to_vec())
            .map_err(|_| OnnxError::Malformed(format!("{what} is not UTF-8")))
    }

    /// A varint read as a (two's complement) signed integer: int32, int64 and enums.
    pub(crate) fn int(self, what: &str) -> Result<i64, OnnxError> {
        match self {
            Value::Varint(v) => Ok(v as i64),
            v => Err(v.wrong(what)),
        }
    }

    /// A single float (fixed32).
    pub(crate) fn float(self, what: &str) -> Result<f32, OnnxError> {
        match self {
            Value::Fixed32(b) => Ok(f32::from_le_bytes(b)),
            v => Err(v.wrong(what)),
        }
    }

    /// Appends a repeated varint field's values, packed or not.
    pub(crate) fn push_ints(self, out: &mut Vec<i64>, what: &'static str) -> Result<(), OnnxError> {
        match self {
            Value::Varint(v) => out.push(v as i64),
            Value::Bytes(b) => {
                let mut r = Fields::new(b, what);
                while r.pos < b.len() {
                    out.push(r.varint()? as i64);
                }
            }
            v => return Err(v.wrong(what)),
        }
        Ok(())
    }

    /// Appends a repeated fixed-width field's values (4 or 8 bytes each), packed or not.
    pub(crate) fn push_fixed<const N: usize, T>(
        self,
        out: &mut Vec<T>,
        what: &str,
        from: fn([u8; N]) -> T,
    ) -> Result<(), OnnxError> {
        let mut one = |chunk: &[u8]| -> Result<(), OnnxError> {
            let arr: [u8; N] = chunk.try_into().map_err(|_| self.wrong(what))?;
            out.push(from(arr));
            Ok(())
        };
        match self {
            Value::Fixed32(b) if N == 4 => one(&b),
            Value::Fixed64(b) if N == 8 => one(&b),
            Value::Bytes(b) if b.len() % N == 0 => b.chunks_exact(N).try_for_each(one),
            v => Err(v.wrong(what)),
        }
    }
}

#[cfg(test)]
pub(crate) mod encode {
    //! A tiny protobuf writer, for building test messages by hand.

    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn int(out: &mut Vec<u8>, field: u64, v: i64) {
        varint(out, field << 3);
        varint(out, v as u64);
    }

    pub fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        varint(out, (field << 3) | 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    pub fn float(out: &mut Vec<u8>, field: u64, v: f32) {
        varint(out, (field << 3) | 5);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_packed_fields_read_back() -> Result<(), OnnxError> {
        let mut msg = Vec::new();
        encode::int(&mut msg, 1, 300);
        encode::int(&mut msg, 2, -5);
        let mut packed = Vec::new();
        for v in [1u64, 128, 16384] {
            encode::varint(&mut packed, v);
        }
        encode::bytes(&mut msg, 3, &packed);
        let mut r = Fields::new(&msg, "test");
        let mut seen = Vec::new();
        while let Some((n, v)) = r.next_field()? {
            match n {
                3 => v.push_ints(&mut seen, "ints")?,
                _ => seen.push(v.int("int")?),
            }
        }
        assert_eq!(seen, vec![300, -5, 1, 128, 16384]);
        Ok(())
    }

    #[test]
    fn truncated_and_overlong_input_is_an_error() {
        let mut msg = Vec::new();
        encode::bytes(&mut msg, 1, b"hello");
        for cut in 0..msg.len() {
            let mut r = Fields::new(&msg[..cut], "test");
            let mut result = Ok(None);
            for _ in 0..4 {
                result = r.next_field();
                if !matches!(result, Ok(Some(_))) {
                    break;
                }
            }
            assert!(cut == 0 || result.is_err(), "cut at {cut}");
        }
        let overlong = [
            0x08u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert!(Fields::new(&overlong, "test").next_field().is_err());
        assert!(Fields::new(&[0x0b], "test").next_field().is_err(), "group");
    }
}
