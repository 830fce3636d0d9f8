//! End to end at scale: 10,000 resources go up and are destroyed, and the bytes of state
//! written grow linearly (1,000 vs 10,000 resources), not with the square of the steps.

use crate::support;
use support::*;

fn program(n: usize) -> String {
    let mut s = String::from("resources:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  r{i}:\n    type: local:index:Random\n    properties:\n      length: 4\n"
        ));
    }
    s
}

fn bytes(r: &Run) -> f64 {
    r.summary()["stateBytesWritten"].as_f64().unwrap()
}

#[test]
fn ten_thousand_resources_up_and_destroy_with_linear_state_writes() {
    let small = Project::local(&program(1_000));
    let up_small = small.run(&["up", "--parallel", "32"]).ok();
    assert_eq!(up_small.summary()["counts"]["create"], 1_000);

    let big = Project::local(&program(10_000));
    let up = big.run(&["up", "--parallel", "32"]).ok();
    assert_eq!(
        up.summary()["counts"]["create"],
        10_000,
        "{}",
        up.describe()
    );
    assert_eq!(big.resources().len(), 10_000);
    let ratio = bytes(&up) / bytes(&up_small);
    assert!(
        (8.0..12.5).contains(&ratio),
        "state bytes written grew {ratio}x for 10x the resources"
    );

    let destroy = big.run(&["destroy", "--parallel", "32"]).ok();
    assert_eq!(destroy.summary()["counts"]["delete"], 10_000);
    assert!(big.resources().is_empty());
    small.run(&["destroy", "--parallel", "32"]).ok();
}
