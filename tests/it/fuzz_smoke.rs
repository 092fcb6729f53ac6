//! A bounded, stable-toolchain run of the cargo-fuzz targets (`fuzz/`, which needs nightly):
//! the same target bodies (`lbsg::devtools::fuzz`) fed arbitrary bytes and structured near-misses
//! by proptest. Crashes found here or by cargo-fuzz become cases in `regressions`.

use lbsg::devtools::fuzz::{annotations, rule_string, world_file};
use proptest::prelude::*;

const DEMO: &str = include_str!("../../assets/demo/world.yaml");

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

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
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The demo world with a few bytes overwritten, removed or inserted, or cut short.
    #[test]
    fn world_loader_takes_damaged_files(
        edits in proptest::collection::vec((any::<usize>(), 0u8..4, any::<u8>()), 1..4)
    ) {
        let mut data = DEMO.as_bytes().to_vec();
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
    for raw in [
        "tcp:443:::/0:v6 clients",
        "icmp:all:0.0.0.0/0",
        "all:all:sg-1",
    ] {
        rule_string(raw.as_bytes());
    }
}
