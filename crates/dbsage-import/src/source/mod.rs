//! Reading the source client-side, streaming, one record at a time.
//!
//! Two layers, so the reject file can replay exactly what was read:
//! - [`framing`] cuts the byte stream into raw records (the original bytes, with the line the
//!   record starts on). The same framing runs again over the source to copy rejected records
//!   byte-for-byte into the reject file.
//! - [`delimited`] and [`json`] decode a raw record into field values.
//!
//! Memory stays bounded by the longest record: nothing holds more than one record.

pub mod delimited;
pub mod framing;
pub mod input;
pub mod json;
