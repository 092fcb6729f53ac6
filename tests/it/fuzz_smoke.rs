//! A bounded, stable-toolchain run of the cargo-fuzz targets (`fuzz/`, which needs nightly):
//! the same target bodies (`lbsg::devtools::fuzz`) fed arbitrary bytes and structured near-misses
//! by proptest. Crashes found here or by cargo-fuzz become cases in `regressions`.
//! `LBSG_FUZZ_SCALE=50 cargo test --test it fuzz_smoke` runs 50 times as many cases.

use lbsg::devtools::fuzz::{annotations, rule_string, world_file};
use proptest::prelude::*;

const DEMO: &str = include_str!("../../assets/demo/world.yaml");

/// The demo as lbsg writes YAML (block style: the block fast path reads it).
fn demo_block() -> &'static str {
    static YAML: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    YAML.get_or_init(|| {
        let w = lbsg::world::file::load_str(DEMO, "demo").unwrap();
        lbsg::world::file::save_string(&w)
    })
}

fn demo_json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        let w = lbsg::world::file::load_str(DEMO, "demo").unwrap();
        lbsg::world::file::save_string_json(&w)
    })
}

/// `n` cases, times `LBSG_FUZZ_SCALE` when set (for longer runs by hand).
fn cases(n: u32) -> ProptestConfig {
    let scale = std::env::var("LBSG_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    ProptestConfig {
        cases: n.saturating_mul(scale.max(1)),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn annotation_parsers_take_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        annotations(&data);
    }

    #[test]
    fn annotation_parsers_take_near_misses(sel in any::<u8>(), raw in r"([a-z\\=, ]{0,6}(=[a-z\\, ]{0,6})?,?){0,6}") {
        let mut data = vec![sel];
        data.extend(raw.as_bytes());
        annotations(&data);
    }

    #[test]
    fn rule_parser_takes_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        rule_string(&data);
    }

    #[test]
    fn rule_parser_takes_near_misses(
        raw in r"(tcp|udp|icmp|icmpv6|all|-1|6|17|58|999|TCP)?:(all|-1|[0-9]{0,6}(-[0-9]{0,6})?|[0-9]{1,3},[0-9]{1,3})?:(sg-[0-9a-z]{0,4}|pl-[0-9a-z]{0,4}|[0-9.]{0,15}/[0-9]{0,3}|[0-9a-f:]{0,12}/[0-9]{0,3})?(:[ -~]{0,10})?"
    ) {
        rule_string(raw.as_bytes());
    }
}

proptest! {
    #![proptest_config(cases(120))]

    /// The demo world (as written by hand, as lbsg writes YAML, or as JSON: each reader's
    /// input) with a few bytes overwritten, removed or inserted, or cut short.
    #[test]
    fn world_loader_takes_damaged_files(
        form in 0u8..3,
        edits in proptest::collection::vec((any::<usize>(), 0u8..4, any::<u8>()), 1..4)
    ) {
        let text = match form {
            0 => DEMO,
            1 => demo_block(),
            _ => demo_json(),
        };
        let mut data = text.as_bytes().to_vec();
        for (at, op, byte) in edits {
            let at = at % data.len().max(1);
            match op {
                0 => data[at] = byte,
                1 => { data.remove(at); }
                2 => data.insert(at, byte),
                _ => data.truncate(at),
            }
        }
        world_file(&data);
    }

    #[test]
    fn world_loader_takes_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        world_file(&data);
    }
}

/// Inputs that once crashed a target (found by the runs above or by cargo-fuzz).
#[test]
fn regressions() {
    world_file(DEMO.as_bytes());
    world_file(demo_json().as_bytes());
    world_file(demo_block().as_bytes());
    for raw in [
        "tcp:443:::/0:v6 clients",
        "icmp:all:0.0.0.0/0",
        "all:all:sg-1",
    ] {
        rule_string(raw.as_bytes());
    }
}
