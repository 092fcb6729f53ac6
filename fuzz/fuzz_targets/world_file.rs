//! `cargo +nightly fuzz run world_file`: see `lbsg::devtools::fuzz::world_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lbsg::devtools::fuzz::world_file(data);
});
