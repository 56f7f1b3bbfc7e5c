//! Fuzz the CTranslate2 `model.bin` parser: any bytes must give `Ok` or `Err`, never a panic, an
//! out-of-bounds read or an allocation beyond the input's size.
//!
//! Run: `cd crates/whisper/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run parse_ct2 -- -max_total_time=300`

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = meetvault_whisper::ct2::parse_ct2(data) {
        // Whatever parsed must describe data inside the input.
        for v in &header.variables {
            assert!(v.offset + v.len <= data.len());
        }
        let _ = header.get("decoder/projection/weight");
    }
});
