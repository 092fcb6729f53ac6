//! `cargo +nightly fuzz run annotations`: see `lbsg::devtools::fuzz::annotations`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lbsg::devtools::fuzz::annotations(data);
});
