//! End to end: deeply nested values go through the whole path: the program, the engine,
//! Check/Create/Diff on the wire (a map level is three protobuf messages deep: Struct, its map
//! entry, Value), the provider's typed layer, the state file and back. Pulumi's Go engine reads
//! messages with protobuf-go's default limit of 10,000 levels; 60 map levels must work here.

use crate::support;
use support::*;

fn nested(levels: usize) -> String {
    format!("{}deep-leaf{}", "{a: ".repeat(levels), "}".repeat(levels))
}

#[test]
fn sixty_levels_of_nested_maps_are_created_recorded_and_unchanged_on_the_next_up() {
    let program = format!(
        "resources:\n  c:\n    type: local:index:Command\n    properties:\n      create: echo made\n      triggers:\n        - {}\n",
        nested(60)
    );
    let p = Project::local(&program);
    let r = p.run(&["up"]).ok();
    assert_eq!(r.steps(), vec![s("create", "c", "ok")], "{}", r.describe());
    let c = p.resource("c").unwrap();
    let mut v = &c["inputs"]["triggers"][0];
    for level in 0..60 {
        v = &v["a"];
        assert!(!v.is_null(), "level {level} is recorded: {c}");
    }
    assert_eq!(v, "deep-leaf");
    let r = p.run(&["up"]).ok();
    assert_eq!(r.steps(), vec![s("same", "c", "ok")], "{}", r.describe());
    p.run(&["destroy"]).ok();
}
