//! A bounds-checked reader of CTranslate2's `model.bin` (binary versions 1–6).
//!
//! Layout (little endian), as written by CTranslate2's `model_spec.py`:
//! `u32 version`; from version 2 `string spec` and `u32 revision`; `u32 count` variables, each
//! `string name`, `u8 rank`, `rank × u32 dims`, then from version 4 `u8 dtype` and `u32 bytes`
//! (before: `u8 item size` and `u32 element count`), then the raw data; from version 3
//! `u32 count` aliases, each `string alias`, `string target`. A string is a `u16` length followed
//! by that many bytes, the last of which is a NUL.
//!
//! Every length, count and product is checked against the bytes that remain, so a truncated or
//! hostile file is a [`WhisperError::ModelFormat`], never a panic or a huge allocation. This module
//! only parses: it knows nothing of Whisper's layer names (that is `weights`).

use crate::error::{Result, WhisperError};

/// The newest binary version this reader understands.
pub const MAX_BINARY_VERSION: u32 = 6;

/// Element types CTranslate2 stores (`ctranslate2::DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    /// 32-bit float.
    F32,
    /// 8-bit signed integer (quantised weights and flags).
    I8,
    /// 16-bit signed integer.
    I16,
    /// 32-bit signed integer.
    I32,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    Bf16,
}

impl Ct2Dtype {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    fn from_item_size(size: u8) -> Option<Self> {
        Some(match size {
            4 => Self::F32,
            2 => Self::I16,
            1 => Self::I8,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::I8 => 1,
        }
    }

    /// CTranslate2's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }
}

/// One stored variable: its name, shape, type and where its bytes are in the file.
#[derive(Debug, Clone)]
pub struct Ct2Variable {
    /// The CTranslate2 name, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Dimensions (empty for a scalar).
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: Ct2Dtype,
    /// Byte offset of the data from the start of the file.
    pub offset: usize,
    /// Byte length of the data (always `product(shape) × dtype.size()`).
    pub len: usize,
}

/// The parsed structure of a `model.bin`: everything but the tensor data, which stays in the
/// caller's buffer (or on disk) at the recorded offsets.
#[derive(Debug, Clone)]
pub struct Ct2Header {
    /// Binary format version (1–6).
    pub version: u32,
    /// Model specification name, e.g. `WhisperSpec` (empty before version 2).
    pub spec: String,
    /// Specification revision.
    pub revision: u32,
    /// The variables in file order.
    pub variables: Vec<Ct2Variable>,
    /// `(alias, target)` pairs, e.g. the tied output projection.
    pub aliases: Vec<(String, String)>,
    /// Total file length.
    pub file_len: usize,
}

impl Ct2Header {
    /// The variable called `name`, following aliases.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable> {
        if let Some(v) = self.variables.iter().find(|v| v.name == name) {
            return Some(v);
        }
        let (_, target) = self.aliases.iter().find(|(alias, _)| alias == name)?;
        self.variables.iter().find(|v| &v.name == target)
    }
}

/// Where the parser reads from: the whole file in memory, or a file on disk read piecewise (so
/// `inspect` need not load 75+ MB to learn the model's shape).
pub trait Source {
    /// Total length in bytes.
    fn len(&self) -> usize;
    /// Whether the source has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fill `buf` from `offset`; the caller has checked that the range is in bounds.
    fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> std::io::Result<()>;
}

impl Source for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset.checked_add(buf.len()).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "range overflows")
        })?;
        let src = self.get(offset..end).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "range past end")
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A file on disk, read with seeks.
#[derive(Debug)]
pub struct FileSource {
    file: std::fs::File,
    len: usize,
}

impl FileSource {
    /// Open `file`, recording its length.
    pub fn new(file: std::fs::File) -> std::io::Result<Self> {
        let len = usize::try_from(file.metadata()?.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "file larger than memory")
        })?;
        Ok(Self { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> usize {
        self.len
    }
    fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        self.file.seek(SeekFrom::Start(offset as u64))?;
        self.file.read_exact(buf)
    }
}

/// Parse a whole `model.bin` held in memory. This is the fuzzing entry point: any input gives
/// `Ok` or a precise `Err`, never a panic.
pub fn parse_ct2(bytes: &[u8]) -> Result<Ct2Header> {
    let mut src = bytes;
    parse_header(&mut src)
}

/// Parse the structure of a `model.bin` from any [`Source`], skipping over tensor data.
pub fn parse_header<S: Source>(src: &mut S) -> Result<Ct2Header> {
    let mut r = Reader { src, pos: 0 };
    let version = r.u32("binary version")?;
    if version == 0 || version > MAX_BINARY_VERSION {
        return Err(format_err(format!(
            "unsupported binary version {version} (this reader supports 1 to {MAX_BINARY_VERSION})"
        )));
    }
    let (spec, revision) = if version >= 2 {
        (r.string("spec name")?, r.u32("spec revision")?)
    } else {
        (String::new(), 1)
    };
    let count = r.u32("variable count")?;
    // Each variable takes at least 8 bytes (name length, rank, type, byte count): a count the
    // remaining bytes cannot hold is rejected before anything is allocated for it.
    if (count as usize).saturating_mul(8) > r.remaining() {
        return Err(format_err(format!(
            "variable count {count} cannot fit in the {} remaining bytes",
            r.remaining()
        )));
    }
    let mut variables = Vec::with_capacity(count as usize);
    for index in 0..count {
        variables.push(read_variable(&mut r, version, index)?);
    }
    let mut aliases = Vec::new();
    if version >= 3 {
        let n = r.u32("alias count")?;
        if (n as usize).saturating_mul(4) > r.remaining() {
            return Err(format_err(format!(
                "alias count {n} cannot fit in the {} remaining bytes",
                r.remaining()
            )));
        }
        for _ in 0..n {
            let alias = r.string("alias name")?;
            let target = r.string("alias target")?;
            aliases.push((alias, target));
        }
    }
    if r.remaining() != 0 {
        return Err(format_err(format!(
            "{} unexpected trailing bytes after the aliases (at offset {})",
            r.remaining(),
            r.pos
        )));
    }
    let file_len = r.src.len();
    Ok(Ct2Header {
        version,
        spec,
        revision,
        variables,
        aliases,
        file_len,
    })
}

fn read_variable<S: Source>(
    r: &mut Reader<'_, S>,
    version: u32,
    index: u32,
) -> Result<Ct2Variable> {
    let name = r.string("variable name")?;
    let rank = r.u8(&name)?;
    let mut shape = Vec::with_capacity(usize::from(rank));
    for _ in 0..rank {
        shape.push(r.u32(&name)? as usize);
    }
    let (dtype, len) = if version >= 4 {
        let id = r.u8(&name)?;
        let dtype = Ct2Dtype::from_id(id)
            .ok_or_else(|| format_err(format!("tensor `{name}` has unknown data type id {id}")))?;
        (dtype, r.u32(&name)? as usize)
    } else {
        let size = r.u8(&name)?;
        let dtype = Ct2Dtype::from_item_size(size)
            .ok_or_else(|| format_err(format!("tensor `{name}` has unknown item size {size}")))?;
        let elements = r.u32(&name)? as usize;
        let len = elements
            .checked_mul(dtype.size())
            .ok_or_else(|| format_err(format!("tensor `{name}` byte count overflows")))?;
        (dtype, len)
    };
    let elements = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(dtype.size()))
        .ok_or_else(|| format_err(format!("tensor `{name}` dims {shape:?} overflow")))?;
    if elements != len {
        return Err(format_err(format!(
            "tensor `{name}` (variable {index}) declares {len} bytes but dims {shape:?} of {} need {elements}",
            dtype.name()
        )));
    }
    let offset = r.pos;
    let end = offset
        .checked_add(len)
        .filter(|&e| e <= r.src.len())
        .ok_or_else(|| {
            format_err(format!(
                "tensor `{name}` data extends past end of file (offset {offset} + {len} > {})",
                r.src.len()
            ))
        })?;
    r.pos = end;
    Ok(Ct2Variable {
        name,
        shape,
        dtype,
        offset,
        len,
    })
}

fn format_err(msg: String) -> WhisperError {
    WhisperError::ModelFormat(format!("model.bin: {msg}"))
}

struct Reader<'s, S: Source> {
    src: &'s mut S,
    pos: usize,
}

impl<S: Source> Reader<'_, S> {
    fn remaining(&self) -> usize {
        self.src.len().saturating_sub(self.pos)
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        if self.remaining() < N {
            return Err(format_err(format!(
                "file ends at offset {} while reading {what} ({N} bytes needed)",
                self.src.len()
            )));
        }
        self.src
            .read_at(self.pos, &mut buf)
            .map_err(|e| format_err(format!("reading {what} at offset {}: {e}", self.pos)))?;
        self.pos += N;
        Ok(buf)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.bytes::<1>(what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.bytes::<2>(what)?))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes::<4>(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let start = self.pos;
        let len = usize::from(self.u16(what)?);
        if len > self.remaining() {
            return Err(format_err(format!(
                "{what} at offset {start} is {len} bytes long but only {} remain",
                self.remaining()
            )));
        }
        let mut buf = vec![0u8; len];
        self.src
            .read_at(self.pos, &mut buf)
            .map_err(|e| format_err(format!("reading {what} at offset {}: {e}", self.pos)))?;
        self.pos += len;
        // Strings are written NUL-terminated, and the terminator is counted in the length.
        while buf.last() == Some(&0) {
            buf.pop();
        }
        String::from_utf8(buf)
            .map_err(|_| format_err(format!("{what} at offset {start} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny writer of the same format, for synthetic files.
    fn write(
        version: u32,
        vars: &[(&str, &[u32], u8, &[u8])],
        aliases: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = version.to_le_bytes().to_vec();
        let s = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        };
        if version >= 2 {
            s(&mut out, "WhisperSpec");
            out.extend_from_slice(&3u32.to_le_bytes());
        }
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for (name, dims, dtype, data) in vars {
            s(&mut out, name);
            out.push(dims.len() as u8);
            for d in *dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.push(*dtype);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        if version >= 3 {
            out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
            for (a, t) in aliases {
                s(&mut out, a);
                s(&mut out, t);
            }
        }
        out
    }

    #[test]
    fn parses_a_small_file_with_an_alias() {
        let bytes = write(
            6,
            &[("a/weight", &[2, 2], 0, &[0u8; 16]), ("flag", &[], 1, &[1])],
            &[("b/weight", "a/weight")],
        );
        let h = parse_ct2(&bytes).unwrap();
        assert_eq!(h.spec, "WhisperSpec");
        assert_eq!(h.variables.len(), 2);
        assert_eq!(h.variables[0].shape, vec![2, 2]);
        assert_eq!(h.get("b/weight").unwrap().name, "a/weight");
        assert_eq!(h.variables[1].dtype, Ct2Dtype::I8);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = write(
            6,
            &[("a/weight", &[2, 2], 4, &[0u8; 8])],
            &[("x", "a/weight")],
        );
        for cut in 0..bytes.len() {
            assert!(parse_ct2(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn lying_byte_count_names_the_tensor() {
        let mut bytes = write(6, &[("t", &[4], 0, &[0u8; 16])], &[]);
        // Claim 1 GiB of data for the tensor and dims to match.
        let dims_at = 4 + 2 + 12 + 4 + 4 + 2 + 2 + 1;
        bytes[dims_at..dims_at + 4].copy_from_slice(&(1u32 << 28).to_le_bytes());
        bytes[dims_at + 5..dims_at + 9].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let err = parse_ct2(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("tensor `t` data extends past end of file"),
            "{err}"
        );
    }

    #[test]
    fn old_versions_use_item_size_and_element_count() {
        let mut out = 1u32.to_le_bytes().to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(b"w\0");
        out.push(1);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.push(4);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&[0u8; 12]);
        let h = parse_ct2(&out).unwrap();
        assert_eq!(h.variables[0].len, 12);
        assert_eq!(h.variables[0].dtype, Ct2Dtype::F32);
    }
}
