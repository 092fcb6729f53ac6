//! `cargo +nightly fuzz run rule_string`: see `lbsg::devtools::fuzz::rule_string`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lbsg::devtools::fuzz::rule_string(data);
});
